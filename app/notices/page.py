"""The notice as a Chinese web page for people: plain HTML that searches, sorts and pages on the
server (so it works with scripts off, and on a million rows), a few lines of script that filter
the visible rows while typing, and a print stylesheet."""

from __future__ import annotations

import json
from html import escape
from urllib.parse import urlencode

from app.notices.content import CATEGORY_NAMES, sanction_text
from app.kit.pageheaders import page_headers

STYLE = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:2rem auto;max-width:72rem;
padding:0 1rem;color:#222}
h1{font-size:1.5rem;text-align:center}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:1rem 0}
.meta dt{color:#555}.meta dd{margin:0}
.hash{font-family:monospace;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f6}th a{color:inherit}
td.num{text-align:right}
form{margin:1rem 0}input[type=search]{width:20rem;padding:.3rem}
nav.pager{margin:1rem 0}
table.referrals{width:auto;margin:1rem 0}caption{text-align:left;font-weight:bold;margin:.3rem 0}
table.summary{width:auto;margin:1rem 0}.summary td{border:none;padding:.1rem 1.5rem .1rem 0}
@media print{form,nav.pager,.downloads,script{display:none}body{margin:0;max-width:none}
th{background:none}a{text-decoration:none;color:inherit}}
"""

FILTER_SCRIPT = """
document.getElementById('q').addEventListener('input', function () {
  var needle = this.value.trim();
  document.querySelectorAll('#rows tbody tr').forEach(function (tr) {
    tr.hidden = needle !== '' && tr.textContent.indexOf(needle) === -1;
  });
});
"""



# The page's only inline style and script, admitted by hash; it loads nothing from elsewhere.
def headers() -> dict[str, str]:
    return page_headers(scripts=(FILTER_SCRIPT,), styles=(STYLE,))


def _checkpoint(named: dict | None) -> str:
    """The ledger checkpoint the notice printed: its number, time and digest (notices published
    before checkpoints existed, or with none yet, say so)."""
    if not named:
        return "—（发布时尚无签名校验点）"
    return (f'第 {named["id"]} 号，签署于 {escape(named["at"][:19].replace("T", " "))} (UTC)，密钥 {escape(named["key_id"])}'
            f'<br><span class="hash" id="ledger-digest">{escape(named["digest"])}</span>')


def render(described: dict, rows: list[dict], *, query: str, sort: str, page: int, pages: int,
           matching: int, first_number: int) -> str:
    notice_id = described["id"]
    summary = described["summary"]

    def link(**params) -> str:
        merged = {"q": query, "sort": sort, "page": page, **params}
        return f"/notices/{notice_id}?" + urlencode({k: v for k, v in merged.items() if v not in ("", None)})

    revisions = []
    if described["previous"]:
        revisions.append(f'<a href="/notices/{described["previous"]["id"]}">上一版本</a>')
    if described.get("next_revision_id"):
        revisions.append(f'<a href="/notices/{described["next_revision_id"]}">已更正：查看新版本</a>')
    body_rows = "\n".join(
        "<tr>"
        f'<td class="num">{first_number + i}</td><td>{escape(r["name"])}</td><td>{escape(r["code"])}</td>'
        f'<td>{escape(CATEGORY_NAMES.get(r["category"], r["category"]))}</td>'
        f'<td>{"<br>".join(escape((inst["name"] or "") + "（" + inst["code"] + "）") for inst in r["institutions"])}</td>'
        f'<td class="num">{r["points"]}</td><td class="num">{r["repaired"]}</td>'
        f'<td>{"<br>".join(escape(sanction_text(s)) for s in r["sanctions"]) or "—"}</td>'
        "</tr>"
        for i, r in enumerate(rows)
    )
    bands = "".join(f"<tr><td>{escape(b['name'])}（{b['min']}–{b['max']}分）</td><td>{b['people']} 人</td></tr>"
                    for b in summary["by_points"])
    directions = {"outbound": "移送", "inbound": "接收"}
    referral_rows = "".join(
        f"<tr><td>{escape(r['department_name'])}</td><td>{directions.get(r['direction'], r['direction'])}</td>"
        f"<td>{r['sent']}</td><td>{r['concluded_with_penalty']}</td><td>{r['concluded_without_penalty']}</td>"
        f"<td>{r['not_filed']}</td><td>{r['pending']}</td><td>{r['notifications']}</td></tr>"
        for r in summary.get("referrals", [])
    )
    referral_table = (
        '<table class="referrals"><caption>部门间移送情况</caption><thead><tr><th>部门</th><th>方向</th>'
        "<th>移送线索</th><th>已处罚</th><th>未处罚办结</th><th>不予立案</th><th>办理中</th><th>联合惩戒通知</th>"
        f"</tr></thead><tbody>{referral_rows}</tbody></table>" if referral_rows else ""
    )
    pager = []
    if page > 1:
        pager.append(f'<a href="{escape(link(page=page - 1))}" rel="prev">上一页</a>')
    pager.append(f"第 {page} / {max(pages, 1)} 页，共 {matching} 条")
    if page < pages:
        pager.append(f'<a href="{escape(link(page=page + 1))}" rel="next">下一页</a>')
    sort_points = escape(link(sort="points", page=1))
    sort_code = escape(link(sort="code", page=1))
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(described["title"])}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(described["title"])}</h1>
<dl class="meta">
<dt>发布单位</dt><dd>{escape(described["issued_by"])}</dd>
<dt>公示期间</dt><dd>{described["year"]}年1月1日至{escape(described["as_of"])}</dd>
<dt>联系方式</dt><dd>{escape(described["contact"] or "—")}</dd>
<dt>版本</dt><dd>第 {described["revision"]} 版，发布于 {escape(described["published_at"][:19].replace("T", " "))} (UTC)
{" · ".join(revisions)}</dd>
<dt>SHA-256</dt><dd class="hash" id="sha256">{described["sha256"]}</dd>
<dt>记分账本校验点</dt><dd>{_checkpoint(described.get("ledger_checkpoint"))}</dd>
</dl>
<p class="downloads">下载：<a href="/v1/notices/{notice_id}?format=json">JSON</a>（其 SHA-256 与上列值一致）
· <a href="/v1/notices/{notice_id}?format=csv">CSV</a></p>
<table class="summary"><tbody>
<tr><td>记分人员</td><td>{summary["people"]} 人</td></tr>
{bands}
<tr><td>约谈</td><td>{summary["warned"]} 人</td></tr>
<tr><td>暂停医保支付资格</td><td>{summary["suspended"]} 人</td></tr>
<tr><td>终止医保支付资格</td><td>{summary["terminated"]} 人</td></tr>
</tbody></table>
{referral_table}
<form method="get" action="/notices/{notice_id}" role="search">
<label for="q">查询（姓名、编码、机构）</label>
<input type="search" id="q" name="q" value="{escape(query)}">
<input type="hidden" name="sort" value="{escape(sort)}">
<button type="submit">查询</button>
</form>
<table id="rows">
<thead><tr><th>序号</th><th>姓名</th><th><a href="{sort_code}">人员编码</a></th><th>人员类别</th><th>执业机构</th>
<th><a href="{sort_points}">年度记分</a></th><th>修复分值</th><th>处理情况</th></tr></thead>
<tbody>
{body_rows}
</tbody>
</table>
<nav class="pager">{" ".join(pager)}</nav>
<script>{FILTER_SCRIPT}</script>
<script type="application/json" id="notice-meta">{escape(json.dumps({"id": notice_id, "sha256": described["sha256"], "ledger_checkpoint": described.get("ledger_checkpoint")}))}</script>
</body>
</html>
"""
