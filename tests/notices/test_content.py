"""The canonical encoding a notice's hash covers: orjson must write exactly what json.dumps writes."""

import json

from app.notices.content import canonical

AWKWARD = [
    "王**", 'quote " and backslash \\ and slash /', "tab\tnew line\nreturn\r", "\x00\x01\x1f\x7f",
    "\u2028\u2029 line separators", "emoji 🏥 and 𠀀 outside the BMP", "", " leading and trailing ",
    "ＦＵＬＬＷＩＤＴＨ，标点：“引号”", "\ufeff byte order mark",
]


def test_canonical_is_json_dumps_with_sorted_keys_and_no_escaping():
    values = [
        {"name": s, "b": [1, 0, -7, 2**40], "a": {"z": None, "y": True, "x": False}, "中": s} for s in AWKWARD
    ] + [AWKWARD, {"sanctions": [], "institutions": [{"code": "H15042800001", "name": None}]}, [], {}, 0, "x"]
    for value in values:
        assert canonical(value) == json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
