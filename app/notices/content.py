"""What a notice says, as pure functions: which people appear, their masked rows, the summary,
the canonical bytes that are hashed, and the CSV rendering.

The canonical document is JSON with sorted keys and no spaces:
``{"notice": {...}, "rows": [...], "summary": {...}}``. It is produced piece by piece, so a
notice of a million rows is hashed and served without being held in memory, and the SHA-256 of
a downloaded ``format=json`` copy equals the published hash.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date

import orjson

from app.kit.csvsafe import cell
from app.practitioners.identity import mask_code, mask_name
from app.scoring.rulesets import Ruleset
from app.scoring.standing import TERMINATION, Timeline, outranked

CATEGORY_NAMES = {
    "physician": "医师", "nurse": "护士", "pharmacist": "药师", "technician": "技师",
    "billing_reviewer": "医保结算审核人员", "pharmacy_manager": "药店主要负责人", "other": "其他",
}
SANCTION_NAMES = {"warning": "约谈", "suspension": "暂停医保支付资格", "termination": "终止医保支付资格"}
CSV_COLUMNS = ["序号", "姓名", "人员编码", "人员类别", "所在地区", "执业机构", "年度记分", "修复分值", "处理情况"]


def canonical(value) -> str:
    """JSON with sorted keys, no spaces, characters unescaped: the bytes a notice's hash covers.
    orjson writes exactly what ``json.dumps(value, ensure_ascii=False, sort_keys=True,
    separators=(",", ":"))`` writes for these values (tests/notices/test_content.py), several
    times faster: a notice of a million rows encodes a million of them."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def row_for(code: str, name: str, category: str, region: str, institutions: Iterable[tuple[str, str | None]],
            timeline: Timeline, year: int, as_of: date) -> dict | None:
    """The published row of one person (their code, name, category and region, their institutions
    as (code, name) in code order, their timeline), or None if they have nothing to publish for
    the year. Points as of ``as_of`` (or year end); sanctions that started by ``as_of`` and touch
    the year."""
    last_day = min(as_of, date(year, 12, 31))
    points = timeline.total_on(last_day)
    repaired = timeline.repaired.get(year, 0)
    # Most people in a notice have no sanction: the filter and the sort below are skipped for them.
    sanctions = [
        s for s in timeline.sanctions
        if s.starts_on <= last_day and s.starts_on.year <= year
        and (_last_day(s) is None or _last_day(s) >= date(year, 1, 1)) and not outranked(timeline, s)
    ] if timeline.sanctions else []
    if not points and not repaired and not sanctions:
        return None
    return _row(code, name, category, region, institutions, points, repaired, [
        {"kind": s.kind, "starts_on": s.starts_on.isoformat(),
         "ends_on": _iso(_last_day(s)), "reregistration_from": _iso(s.bar_until)}
        for s in sorted(sanctions, key=lambda s: s.starts_on)
    ] if sanctions else [])


def _row(code: str, name: str, category: str, region: str, institutions: Iterable[tuple[str, str | None]],
         points: int, repaired: int, sanctions: list[dict]) -> dict:
    return {
        "name": mask_name(name),
        "code": mask_code(code),
        "category": category,
        "region": region,
        "institutions": [{"code": site_code, "name": site_name} for site_code, site_name in institutions],
        "points": points,
        "repaired": repaired,
        "sanctions": sanctions,
    }


class StoredRows:
    """``row_for`` over stored timelines as decoded JSON (``Timeline.to_json``'s shape), for one
    notice's year and ``as_of``: the rows a freeze publishes.

    The year's points, repairs and sanctions are read straight from the JSON, without building a
    ``Timeline`` (its dates parsed, its dataclasses made: two thirds of a frozen row's Python, and
    a person with a sanction cost seven times one without). Every day in a stored timeline is an
    ISO date, which orders as text as the date does: the points as of ``as_of`` are those of the
    last change on or before it, as ``Timeline.total_on`` finds them, and the sanctions are
    filtered, outranked and sorted as ``row_for`` does on dates (tests/notices/test_stored_rows.py
    holds the two equal)."""

    def __init__(self, year: int, as_of: date):
        last_day = min(as_of, date(year, 12, 31))
        self._last_day, self._first_day = last_day.isoformat(), date(year, 1, 1).isoformat()
        self._totals_key, self._year_key = str(last_day.year), str(year)

    def row(self, code: str, name: str, category: str, region: str,
            institutions: Iterable[tuple[str, str | None]], timeline: dict) -> dict | None:
        last_day = self._last_day
        points = 0
        changes = timeline["totals"].get(self._totals_key)
        if changes:
            for day, total in reversed(changes):
                if day <= last_day:
                    points = total
                    break
        repaired = timeline["repaired"]
        repaired = repaired.get(self._year_key, 0) if repaired else 0
        sanctions = self._sanctions(timeline["sanctions"]) if timeline["sanctions"] else []
        if not points and not repaired and not sanctions:
            return None
        return _row(code, name, category, region, institutions, points, repaired, sanctions)

    def _sanctions(self, stored: list[dict]) -> list[dict]:
        """The published sanctions: started by the notice's last day, not over before the year
        began, not outranked by a termination (``standing.outranked``), in order of start."""
        last_day, first_day = self._last_day, self._first_day
        spans = [(s["kind"], s["starts_on"], s["ends_on"] if s["ends_on"] is not None else s["imposed_until"])
                 for s in stored]
        terminations = [(starts_on, last) for kind, starts_on, last in spans if kind == TERMINATION]
        published = [
            {"kind": kind, "starts_on": starts_on, "ends_on": last, "reregistration_from": s["bar_until"]}
            for s, (kind, starts_on, last) in zip(stored, spans)
            if starts_on <= last_day and (last is None or last >= first_day)
            and (kind == TERMINATION or not any(
                t_starts <= starts_on and (t_last is None or (last is not None and last <= t_last))
                for t_starts, t_last in terminations))
        ]
        if len(published) > 1:
            published.sort(key=lambda s: s["starts_on"])
        return published


def _last_day(sanction) -> date | None:
    return sanction.ends_on if sanction.ends_on is not None else sanction.imposed_until


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class Summary:
    """Counts kept while rows stream past."""

    def __init__(self, ruleset: Ruleset | None, referrals: list[dict] | None = None):
        self.ruleset = ruleset
        self.referrals = referrals or []
        self.people = 0
        self.by_total: Counter[int] = Counter()  # people per year total: bands are found once per total
        self.sanctioned: Counter[str] = Counter()

    def add(self, row: dict) -> None:
        self.people += 1
        self.by_total[row["points"]] += 1
        if row["sanctions"]:
            for kind in {s["kind"] for s in row["sanctions"]}:
                self.sanctioned[kind] += 1

    def as_dict(self) -> dict:
        bands = self.ruleset.bands if self.ruleset else []
        by_band: Counter[str] = Counter()
        for points, people in self.by_total.items():
            band = self.ruleset.band_of_total(points) if self.ruleset is not None else None
            if band is not None:
                by_band[band.code] += people
        return {
            "people": self.people,
            "by_points": [{"band": b.code, "name": b.name, "min": b.min, "max": b.max, "people": by_band[b.code]}
                          for b in bands],
            "warned": self.sanctioned["warning"],
            "suspended": self.sanctioned["suspension"],
            "terminated": self.sanctioned["termination"],
            "referrals": self.referrals,
        }


def document_chunks(header: dict, batches: Iterable[list[str]], summary: Callable[[], dict]) -> Iterator[str]:
    """The canonical document in pieces, a piece per batch of rows; ``batches`` are lists of rows
    already in canonical form. ``summary`` is called after the last row, so it may count the rows
    as they pass. (A piece per batch rather than per row: a freeze hashes every piece, and a
    million calls into SHA-256 cost more than the hashing.)"""
    yield '{"notice":' + canonical(header) + ',"rows":['
    separator = ""
    for rows in batches:
        if rows:
            yield separator + ",".join(rows)
            separator = ","
    yield '],"summary":' + canonical(summary()) + "}"


def sanction_text(s: dict) -> str:
    text = f"{SANCTION_NAMES.get(s['kind'], s['kind'])} {s['starts_on']}"
    if s["ends_on"] and s["kind"] != "termination":
        text += f" 至 {s['ends_on']}"
    if s["reregistration_from"]:
        text += f"，{s['reregistration_from']} 起可重新登记"
    return text


def csv_chunks(batches: Iterable[list[str]], region_name: Callable[[str], str]) -> Iterator[str]:
    """The CSV download: UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly.

    ``batches``: the notice's stored rows (canonical JSON) in position order, a list at a time; a
    piece of CSV per list. ``region_name``: the name printed for a region code.

    A download writes a million lines. Most need no quoting (no comma, quote or line break in any
    cell): they are formatted directly, which is what ``csv.writer`` writes for them; the others
    go through ``csv.writer`` itself (tests/notices/test_csv.py holds the two equal)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    lines = [buffer.getvalue()]
    names: dict[str, str] = {}
    loads, categories, n = orjson.loads, CATEGORY_NAMES, 0
    for batch in batches:
        for data in batch:
            n += 1
            row = loads(data)
            # Names are the only text the bureaus typed: the rest is codes and the service's own words.
            name = cell(row["name"])
            sites = row["institutions"]
            if len(sites) == 1:
                site = sites[0]
                institutions = f"{site['name'] or ''}({site['code']})"
            else:
                institutions = "；".join([f"{i['name'] or ''}({i['code']})" for i in sites])
            institutions = cell(institutions)
            region = row["region"]
            region = names.get(region) or names.setdefault(region, region_name(region))
            category = categories.get(row["category"], row["category"])
            sanctions = row["sanctions"]
            sanctions = "；".join([sanction_text(s) for s in sanctions]) if sanctions else ""
            code = row["code"]
            text = name + code + category + region + institutions + sanctions
            if '"' in text or "," in text or "\n" in text or "\r" in text:
                buffer.seek(0)
                buffer.truncate()
                writer.writerow([n, name, code, category, region, institutions, row["points"], row["repaired"],
                                 sanctions])
                lines.append(buffer.getvalue())
            else:
                lines.append(f"{n},{name},{code},{category},{region},{institutions},{row['points']},"
                             f"{row['repaired']},{sanctions}\r\n")
        yield "".join(lines)
        lines = []
    if lines:
        yield "".join(lines)


def delta(before: Iterable[tuple[int, str]], after: Iterable[tuple[int, str]]) -> Iterator[dict]:
    """Added, removed and changed rows between two notices, by person, in one merge pass.

    Both inputs are (person key, canonical row) sorted by key.
    """
    before, after = iter(before), iter(after)
    a, b = next(before, None), next(after, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            yield {"change": "removed", "before": json.loads(a[1])}
            a = next(before, None)
        elif a is None or b[0] < a[0]:
            yield {"change": "added", "after": json.loads(b[1])}
            b = next(after, None)
        else:
            if a[1] != b[1]:
                yield {"change": "changed", "before": json.loads(a[1]), "after": json.loads(b[1])}
            a, b = next(before, None), next(after, None)
