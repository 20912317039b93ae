"""The report of a simulation in its three forms (JSON, CSV, a short HTML summary). Pure: rows
come in as dicts and leave as text pieces, so a report of any size streams."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from app.kit.csvsafe import cell
from app.kit.templating import environment
from app.notices.content import SANCTION_NAMES, mask_code
from app.shared import regions

STATUS_NAMES = {"active": "正常", "suspended": "暂停", "terminated": "终止", "not_registered": "未登记"}
OUTCOME_NAMES = {"none": "无", **SANCTION_NAMES}
CHANGE_NAMES = {"stricter": "从严", "more_lenient": "从宽", "unchanged": "不变"}
STATE_NAMES = {"queued": "排队中", "running": "测算中", "done": "已完成", "failed": "失败"}
REASON_NAMES = {
    "violation_type_unknown": "草案目录无此违规类型",
    "points_outside_band": "明确分值超出草案分档",
    "suspension_months_outside_range": "暂停月数超出草案范围",
    "repair_activity_unknown": "草案未列此修复活动",
}
PEOPLE_COLUMNS = ["序号", "人员编码", "所在地区", "现行年度记分", "草案年度记分", "记分变化", "现行状态", "草案状态",
                  "现行年度处理", "草案年度处理", "变化方向"]
UNPLACED_COLUMNS = ["序号", "记录编号", "类型", "人员编码", "生效日期", "案件编号", "违规类型", "责任", "原记分", "原因", "说明"]
HTML_CHANGED_ROWS = 100


def masked(row: dict, reveal: bool) -> dict:
    """The row as the reader may see it: practitioner codes in full for a bureau, masked otherwise."""
    return row if reveal else {**row, "code": mask_code(row["code"])}


def json_chunks(meta: dict, summary: dict, people: Iterable[str], unplaced: Iterable[str]) -> Iterator[str]:
    """``{"simulation": …, "summary": …, "practitioners": […], "unplaced": […]}``; rows arrive as JSON text."""
    yield '{"simulation":' + json.dumps(meta, ensure_ascii=False) + ',"summary":' + json.dumps(summary, ensure_ascii=False)
    for key, rows in (("practitioners", people), ("unplaced", unplaced)):
        yield f',"{key}":['
        first = True
        for row in rows:
            yield row if first else "," + row
            first = False
        yield "]"
    yield "}"


def _csv(columns: list[str], rows: Iterable[list]) -> Iterator[str]:
    """UTF-8 CSV with a byte-order mark, so Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    for n, row in enumerate(rows, 1):
        writer.writerow([n, *map(cell, row)])
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _outcome_text(side: dict) -> str:
    return "；".join(
        f"{OUTCOME_NAMES.get(s['kind'], s['kind'])} {s['starts_on']}"
        + (f" 至 {s['last_day']}" if s["last_day"] and s["kind"] != "termination" else "")
        for s in side["sanctions"]
    ) or OUTCOME_NAMES["none"]


def _change_text(row: dict) -> str:
    return CHANGE_NAMES[row["change"]] + ("（处理期限变化）" if row["terms_changed"] else "")


def people_csv(rows: Iterable[dict]) -> Iterator[str]:
    def cells():
        for r in rows:
            live, draft = r["live"], r["draft"]
            yield [r["code"], regions.division_name(r["region"]) or r["region"], live["points"], draft["points"],
                   f"{r['points_delta']:+d}", STATUS_NAMES[live["status"]], STATUS_NAMES[draft["status"]],
                   _outcome_text(live), _outcome_text(draft), _change_text(r)]

    return _csv(PEOPLE_COLUMNS, cells())


def unplaced_csv(rows: Iterable[dict]) -> Iterator[str]:
    def cells():
        for r in rows:
            yield [r["row_id"], "记分" if r["kind"] == "entry" else "修复", r["code"], r["effective_on"], r["case_id"] or "",
                   r["violation_type"] or "", r["tier"] or "", r["recorded_points"],
                   REASON_NAMES.get(r["reason"], r["reason"]), r["detail"]]

    return _csv(UNPLACED_COLUMNS, cells())


STYLE = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:2rem auto;max-width:60rem;
padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{color:#555}dd{margin:0}
.hash{font-family:monospace;word-break:break-all}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #bbb;padding:.3rem .6rem;text-align:left}
th{background:#eef2f6}td.num{text-align:right}
"""


_templates = environment("app.simulations")


def html(meta: dict, summary: dict | None, changed: Iterable[dict]) -> str:
    """A short page: what was simulated, the counts side by side, the first people who change."""
    bands = []
    if summary is not None:
        # Bands by code, in the draft's order then the live ones it dropped; each side its own range.
        live = {b["band"]: b for b in summary["live"]["by_points"]}
        draft = {b["band"]: b for b in summary["draft"]["by_points"]}
        for code in [*draft, *(c for c in live if c not in draft)]:
            bands.append({"name": (draft.get(code) or live[code])["name"], "live": live.get(code),
                          "draft": draft.get(code)})
    return _templates.get_template("report.html").render(
        meta=meta, summary=summary, bands=bands, changed=list(changed), style=STYLE,
        region=f"{regions.division_name(meta['region']) or ''}（{meta['region']}）",
        state_names=STATE_NAMES, change_names=CHANGE_NAMES, outcome_text=_outcome_text,
        changed_rows=HTML_CHANGED_ROWS)
