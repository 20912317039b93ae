"""The notice as a Chinese web page for people: plain HTML that searches, sorts and pages on the
server (so it works with scripts off, and on a million rows), a few lines of script that filter
the visible rows while typing, and a print stylesheet."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from app.kit.pageheaders import page_headers
from app.kit.templating import environment
from app.notices.content import CATEGORY_NAMES, sanction_text

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


_templates = environment("app.notices")
_DIRECTIONS = {"outbound": "移送", "inbound": "接收"}


def render(described: dict, rows: list[dict], *, query: str, sort: str, page: int, pages: int,
           matching: int, first_number: int) -> str:
    notice_id = described["id"]

    def link(**params) -> str:
        merged = {"q": query, "sort": sort, "page": page, **params}
        return f"/notices/{notice_id}?" + urlencode({k: v for k, v in merged.items() if v not in ("", None)})

    meta = {"id": notice_id, "sha256": described["sha256"], "ledger_checkpoint": described.get("ledger_checkpoint")}
    return _templates.get_template("notice.html").render(
        d=described, summary=described["summary"], rows=rows, query=query, sort=sort, page=page, pages=pages,
        matching=matching, first_number=first_number, link=link, meta_json=json.dumps(meta),
        style=STYLE, script=FILTER_SCRIPT,  # as the hashes in headers() name them: passed whole, unescaped
        category_names=CATEGORY_NAMES, sanction_text=sanction_text, directions=_DIRECTIONS)
