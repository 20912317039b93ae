"""The report of a simulation in its three forms (JSON, CSV, a short HTML summary). Pure: rows
come in as dicts and leave as text pieces, so a report of any size streams."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from html import escape

from app.kit.csvsafe import cell
from app.shared import regions
from app.notices.content import SANCTION_NAMES, mask_code

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


def html(meta: dict, summary: dict | None, changed: Iterable[dict]) -> str:
    """A short page: what was simulated, the counts side by side, the first people who change."""
    region = f"{regions.division_name(meta['region']) or ''}（{meta['region']}）"
    parts = [
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        f"<title>记分规则草案模拟测算 #{meta['id']}</title><style>{STYLE}</style></head><body>",
        f"<h1>记分规则草案模拟测算 #{meta['id']}：{escape(meta['draft']['name'])}</h1><dl>",
        f"<dt>草案</dt><dd>{escape(meta['draft']['id'])}</dd>",
        f"<dt>草案 SHA-256</dt><dd class=\"hash\">{meta['draft']['sha256']}</dd>",
        f"<dt>地区</dt><dd>{escape(region)}</dd><dt>年度</dt><dd>{meta['year']}</dd>",
        f"<dt>状态比较日</dt><dd>{meta['as_of']}</dd>",
        f"<dt>测算状态</dt><dd>{STATE_NAMES[meta['state']]}（{meta['percent']}%）</dd>",
        f"<dt>申请方</dt><dd>{escape(meta['requested_by'])}</dd></dl>",
    ]
    if meta.get("error"):
        parts.append(f"<p>测算失败：{escape(meta['error'])}</p>")
    if summary is not None:
        live, draft = summary["live"], summary["draft"]
        parts.append(
            f"<p>地区内人员 {summary['people_in_region']} 人，本年度有记分 {summary['people_scored']} 人，"
            f"记分记录 {summary['entries']} 条（草案适用 {summary['entries_governed_by_draft']} 条，"
            f"分值改变 {summary['entries_with_other_points']} 条），草案无法对应 {summary['unplaced']} 条。</p>")
        # Bands by code, each side with its own range: a draft may move a band's bounds.
        parts.append("<h2>按记分分档人数</h2><table><tr><th>分档</th><th>现行分值</th><th>现行规则</th>"
                     "<th>草案分值</th><th>草案</th></tr>")
        sides = ({b["band"]: b for b in live["by_points"]}, {b["band"]: b for b in draft["by_points"]})
        codes = list(sides[1]) + [c for c in sides[0] if c not in sides[1]]
        for code in codes:
            cells = []
            for bands in sides:
                band = bands.get(code)
                cells += [f"{band['min']}-{band['max']}分", str(band["people"])] if band else ["—", "—"]
            name = (sides[1].get(code) or sides[0][code])["name"]
            parts.append(f"<tr><td>{escape(name)}</td><td>{cells[0]}</td><td class=\"num\">{cells[1]}</td>"
                         f"<td>{cells[2]}</td><td class=\"num\">{cells[3]}</td></tr>")
        parts.append("</table><h2>处理人数</h2><table><tr><th></th><th>现行规则</th><th>草案</th></tr>")
        for key, name in (("warned", "约谈"), ("suspended", "暂停医保支付资格"), ("terminated", "终止医保支付资格")):
            parts.append(f"<tr><td>{name}</td><td class=\"num\">{live[key]}</td><td class=\"num\">{draft[key]}</td></tr>")
        changes = summary["changes"]
        parts.append(
            "</table><h2>变化</h2><table>"
            f"<tr><td>从严</td><td class=\"num\">{changes['stricter']}</td></tr>"
            f"<tr><td>从宽</td><td class=\"num\">{changes['more_lenient']}</td></tr>"
            f"<tr><td>不变</td><td class=\"num\">{changes['unchanged']}</td></tr>"
            f"<tr><td>其中处理期限变化</td><td class=\"num\">{changes['terms_changed']}</td></tr>"
            f"<tr><td>记分增加</td><td class=\"num\">{changes['points_up']}</td></tr>"
            f"<tr><td>记分减少</td><td class=\"num\">{changes['points_down']}</td></tr></table>")
        rows = "".join(
            f"<tr><td>{escape(r['code'])}</td><td class=\"num\">{r['live']['points']}</td>"
            f"<td class=\"num\">{r['draft']['points']}</td><td>{escape(_outcome_text(r['live']))}</td>"
            f"<td>{escape(_outcome_text(r['draft']))}</td><td>{CHANGE_NAMES[r['change']]}</td></tr>"
            for r in changed
        )
        if rows:
            parts.append(f"<h2>处理变化的人员（前 {HTML_CHANGED_ROWS} 名）</h2><table><tr><th>人员编码</th>"
                         "<th>现行记分</th><th>草案记分</th><th>现行处理</th><th>草案处理</th><th>方向</th></tr>"
                         f"{rows}</table>")
        parts.append("<h2>下载</h2><ul>" + "".join(
            f"<li><code>{escape(link)}</code></li>" for name, link in meta["links"].items() if name != "self")
            + "</ul>")
    parts.append("</body></html>")
    return "".join(parts)
