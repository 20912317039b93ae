"""Load N synthetic practitioners straight into the tables, fast, with realistic ledgers.

    python -m bench.generate --database-url sqlite:///var/bench.db --size 200000 [--notice-size 1000000]

The schema must be at head with the rulesets stored (``python -m app setup`` or bench/run.py).
Rows go in with bulk writes (COPY on PostgreSQL, executemany on SQLite; no ORM, no HTTP), but they
are what the service itself would have written:

- most practitioners have no points: about half have no standings row at all (never scored), the
  other half an empty stored timeline (the shape the service stores for a person whose points
  were all reversed or repaired away);
- ``--scored`` (default 4 %) have 1-5 entries dated 2025-01-01 .. yesterday, each a real ledger row
  of its own score case (hash-chained with ``app.scoring.ledger.row_hash``), their timeline
  produced by the pure ``app.scoring.standing.derive`` from those facts with the ruleset in force
  for the region and date, and the sanctions it implies recorded as ledger rows, as
  ``service.Person.settle`` does. Heavier cases push some people into suspension or termination;
- ``--notice-size`` further people (the national notice's rows: a notice lists the people with
  points in its year) each have one or two entries dated this year, made the same way. Their codes
  continue ``code_of`` after the registry's, so the load tests, drawing from the first ``--size``,
  never meet them.

Not written: events and idempotency keys of the synthetic cases (nothing in the benchmarks reads
them). ID numbers are valid 18-digit resident numbers; the search hash (HMAC) is per row, the
Fernet encryption is per row up to ``ENCRYPT_EACH_UP_TO`` rows and above that one precomputed
ciphertext is reused (Fernet costs ~60 us a row here, a minute per million; nothing benchmarked
decrypts). Codes follow ``code_of(i)`` so the load scripts can draw random codes without a list.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import create_engine, text
from sqlmodel import Session
from stdnum.cn import ric

from app.auth import service as clients
from app.kit.db import bulk_insert
from app.kit.timeutil import local_date
from app.practitioners.identity import get_vault, mask_id_number
from app.practitioners.models import Institution, Practitioner, PractitionerInstitution
from app.scoring import catalog, ledger, standing
from app.scoring import service as scoring
from app.scoring.models import LedgerRow, ScoreCase, StandingRecord
from app.scoring.rulesets import select_ruleset

# Counties of three rulesets' jurisdictions: Inner Mongolia (150...), Tianjin (120...), elsewhere national.
REGIONS = ["150428", "150402", "150102", "120101", "120104", "110101", "440106", "510104", "330106", "420106"]
LETTERS = "DNY"  # code letters; D physicians, N nurses, Y pharmacists
CATEGORY = {"D": "physician", "N": "nurse", "Y": "pharmacist"}
INSTITUTIONS_PER_REGION = 50
ENCRYPT_EACH_UP_TO = 300_000
BATCH = 5_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉健波宁博文欣怡梓涵浩然子轩宇航晨阳思远佳琪雨萱"


def code_of(i: int) -> str:
    """The code of practitioner number ``i`` (0-based); bench/*.lua compute the same."""
    region = REGIONS[i % len(REGIONS)]
    serial = i // len(REGIONS)
    return f"{LETTERS[serial % len(LETTERS)]}{region}{serial:06d}"


def institution_code(region: str, n: int) -> str:
    return f"H{region}{n:05d}"


def id_number(rng: random.Random, region: str) -> str:
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40))
    body = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body)


def _entries_count(rng: random.Random) -> int:
    return rng.choices([1, 2, 3, 4, 5], weights=[60, 22, 10, 5, 3])[0]


LEDGER_COLUMNS = [c.name for c in LedgerRow.__table__.columns]


class _Writer:
    """Rows into tables in bulk (``app.kit.db.bulk_insert``: COPY on PostgreSQL, executemany on SQLite)."""

    def __init__(self, engine):
        self.engine = engine

    def write(self, tables: list[tuple[object, list[dict]]]) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                # A throw-away database loaded in one go: index pages stay in memory.
                conn.exec_driver_sql("PRAGMA cache_size = -262144")
            for model, rows in tables:
                bulk_insert(conn, model.__table__, rows)


def _ledger_row(**fields) -> dict:
    return {**dict.fromkeys(LEDGER_COLUMNS), **fields}


def generate(url: str, size: int, *, notice_size: int = 0, scored_share: float = 0.04, seed: int = 1,
             log=print) -> dict:
    """``size`` practitioners (the registry the load tests draw from), then ``notice_size`` more who
    all have points this year (the national notice's rows)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    engine = create_engine(url)
    writer = _Writer(engine)
    with Session(engine) as session:
        rulesets = catalog.rulesets(session)
        client, _key = clients.create_client(session, role="bureau", region="100000", name="bench generator")
        client_id = client.id
        next_case = (session.exec(text("SELECT coalesce(max(id), 0) FROM score_cases")).one()[0]) + 1
        next_row = (session.exec(text("SELECT coalesce(max(id), 0) FROM ledger")).one()[0]) + 1
        first_id = (session.exec(text("SELECT coalesce(max(id), 0) FROM practitioners")).one()[0]) + 1
    if first_id != 1:
        raise SystemExit("bench.generate expects an empty practitioners table")
    ruleset_list = list(rulesets.values())
    violations = {(r.id, b.code): [v for v in r.violation_types if v.band == b.code] or r.violation_types
                  for r in ruleset_list for b in r.bands}
    vault = get_vault()
    total = size + notice_size
    shared_ciphertext = vault.encrypt("150428198001010014") if total > ENCRYPT_EACH_UP_TO else None
    today = local_date()
    now = datetime.now(UTC)
    this_year = date(today.year, 1, 1)
    stats = {"practitioners": size, "notice_people": notice_size, "no_standings_row": 0, "empty_timeline": 0,
             "scored": 0, "score_cases": 0, "ledger_rows": 0, "active_with_points": 0, "suspended": 0,
             "terminated": 0, "warned": 0}

    writer.write([(Institution, [
        {"code": institution_code(r, n), "name": f"{r}第{n}医院", "region": r}
        for r in REGIONS for n in range(1, INSTITUTIONS_PER_REGION + 1)
    ])])

    def scored(pid: int, region: str, registered_on: date, site: str, first_day: date, count: int):
        """Entries of their own cases between ``first_day`` and yesterday, the sanctions they imply,
        chained and hashed as the service writes them; returns (cases, ledger rows, timeline)."""
        nonlocal next_case, next_row
        cases, rows = [], []
        span = max(1, (today - first_day).days)
        heavy = rng.random() < 0.08  # a few of the scored drew serious cases
        for _ in range(count):
            on = min(first_day + timedelta(days=rng.randrange(span)), today)
            ruleset = select_ruleset(ruleset_list, region, on)
            # Most cases are light (records, credentials); fraud bands are the rare ones.
            band = rng.choices(ruleset.bands, weights=[70, 20, 7, 3][:len(ruleset.bands)])[0]
            violation = rng.choice(violations[ruleset.id, band.code])
            tier = rng.choice(["important", "primary"]) if heavy else rng.choices(
                ["general", "important", "primary"], weights=[70, 25, 5])[0]
            points = ruleset.band_for(violation.code, None).points[tier]
            case = SimpleNamespace(id=next_case, decision_number=f"BENCH〔{on.year}〕{next_case}号",
                                   ruleset_id=ruleset.id)
            cases.append({
                "id": next_case, "client_id": client_id, "case_ref": f"BENCH-{next_case}",
                "idempotency_key": None, "request_hash": "0" * 64, "basis": "agreement_handling",
                "decision_number": case.decision_number, "decision_date": on,
                "institution_code": site, "region": region, "amount_involved": None,
                "ruleset_id": ruleset.id, "response": "{}", "created_at": now,
            })
            entry = SimpleNamespace(suspension_months=None, violation_type=violation.code, tier=tier,
                                    circumstances=None)
            rows.append(_ledger_row(id=next_row, **scoring.entry_fields(
                SimpleNamespace(id=pid), case, entry, points, on, client_id, counted_from=on)))
            next_case += 1
            next_row += 1
        rows.sort(key=lambda r: (r["effective_on"], r["id"]))
        facts = scoring.facts_from_rows(registered_on, [SimpleNamespace(**r) for r in rows])
        timeline = standing.derive(facts, rulesets)
        for s in timeline.sanctions:
            rows.append(_ledger_row(id=next_row, practitioner_id=pid, kind=scoring.SANCTION, effective_on=s.starts_on,
                                    ruleset_id=s.ruleset_id, client_id=client_id,
                                    details=json.dumps(standing._sanction_json(s))))
            next_row += 1
        prev = ledger.GENESIS
        for seq, row in enumerate(rows, 1):
            row.update(seq=seq, prev_hash=prev, created_at=now)
            row["hash"] = prev = ledger.row_hash(prev, SimpleNamespace(**row))
        return cases, rows, timeline

    for start in range(0, total, BATCH):
        people, sites, standings, cases, rows = [], [], [], [], []
        for i in range(start, min(total, start + BATCH)):
            pid = i + 1
            code = code_of(i)
            region = code[1:7]
            number = id_number(rng, region)
            registered_on = date(2015, 1, 1) + timedelta(days=rng.randrange(365 * 9))
            people.append({
                "id": pid, "code": code,
                "name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                "id_number_encrypted": shared_ciphertext or vault.encrypt(number),
                "id_number_hash": vault.search_hash(number), "id_number_masked": mask_id_number(number),
                "category": CATEGORY[code[0]], "region": region, "registered_on": registered_on,
                "created_at": now, "updated_at": now,
            })
            home = rng.randrange(1, INSTITUTIONS_PER_REGION + 1)
            sites.append({"practitioner_id": pid, "institution_code": institution_code(region, home)})
            if rng.random() < 0.05:
                other = home % INSTITUTIONS_PER_REGION + 1
                sites.append({"practitioner_id": pid, "institution_code": institution_code(region, other)})
            notice_person = i >= size
            u = rng.random()
            if notice_person or u < scored_share:
                # The registry's scored people since 2025; the notice set's this year, one case each mostly.
                first_day, count = (this_year, rng.choice((1, 1, 1, 2))) if notice_person else (
                    date(2025, 1, 1), _entries_count(rng))
                person_cases, person_rows, timeline = scored(pid, region, registered_on, sites[-1]["institution_code"],
                                                             first_day, count)
                cases += person_cases
                rows += person_rows
                first_year, last_year = timeline.years() or (None, None)
                standings.append({"practitioner_id": pid, "timeline": json.dumps(timeline.to_json()),
                                  "first_year": first_year, "last_year": last_year, "updated_at": now})
                if not notice_person:
                    st = standing.evaluate(timeline, today, rulesets)
                    stats["scored"] += 1
                    if st.status == standing.SUSPENDED:
                        stats["suspended"] += 1
                    elif st.status == standing.TERMINATED:
                        stats["terminated"] += 1
                    elif st.points:
                        stats["active_with_points"] += 1
                    stats["warned"] += st.focused_supervision
            elif u < 0.5:
                stats["empty_timeline"] += 1
                standings.append({"practitioner_id": pid, "updated_at": now, "first_year": None, "last_year": None,
                                  "timeline": json.dumps(standing.Timeline(registered_on=registered_on).to_json())})
            else:
                stats["no_standings_row"] += 1
        writer.write([(Practitioner, people), (PractitionerInstitution, sites), (ScoreCase, cases),
                      (LedgerRow, rows), (StandingRecord, standings)])
        stats["score_cases"] += len(cases)
        stats["ledger_rows"] += len(rows)
        if (start // BATCH) % 20 == 0:
            log(f"  generated {min(total, start + BATCH):,} / {total:,} practitioners "
                f"({time.perf_counter() - started:.0f} s)")

    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("practitioners", "score_cases", "ledger"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    engine.dispose()
    stats["encryption"] = "one shared ciphertext" if shared_ciphertext else "Fernet per row"
    stats["seconds"] = round(time.perf_counter() - started, 1)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--size", type=int, default=None,
                        help="practitioners (default 200,000 on SQLite, 1,000,000 on PostgreSQL)")
    parser.add_argument("--notice-size", type=int, default=0,
                        help="further practitioners, all with points this year, for the notice figure")
    parser.add_argument("--scored", type=float, default=0.04, help="share of practitioners with points")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    size = args.size or (200_000 if args.database_url.startswith("sqlite") else 1_000_000)
    stats = generate(args.database_url, size, notice_size=args.notice_size, scored_share=args.scored, seed=args.seed,
                     log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
