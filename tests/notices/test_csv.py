"""The CSV download is what ``csv.writer`` writes for each row, whatever the text in it.

``content.csv_chunks`` formats most lines itself and hands only those that need quoting to
``csv.writer``; ``reference`` below is the download as it was written before, one
``csv.writer.writerow`` per row, and the two must give the same text for any rows, in any batches.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.kit.csvsafe import cell
from app.notices.content import CATEGORY_NAMES, CSV_COLUMNS, canonical, csv_chunks, sanction_text

pytestmark = pytest.mark.database_independent

SETTINGS = settings(max_examples=int(__import__("os").environ.get("APP_PROPERTY_EXAMPLES", "300")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
# Text with everything that changes how a cell is written: quoting, formulas, line breaks, CJK.
AWKWARD = st.text(alphabet=st.sampled_from(list(',"\r\n\t =+-@\'；，王李*() aZ09') + ["\u2028", "\x00", "🏥"]),
                  max_size=8)
DAYS = st.sampled_from(["2025-01-01", "2025-06-30", "2026-02-28"])


def names_of(region: str) -> str:
    return {"150428": "喀喇沁旗", "150400": "赤峰市"}.get(region, region)


@st.composite
def rows(draw) -> dict:
    return {
        "name": draw(AWKWARD),
        "code": draw(st.sampled_from(["D150428****23", "YN150428****01"]) | AWKWARD),
        "category": draw(st.sampled_from(list(CATEGORY_NAMES)) | AWKWARD),
        "region": draw(st.sampled_from(["150428", "150400", "120101"]) | AWKWARD),
        "institutions": draw(st.lists(st.fixed_dictionaries({
            "code": st.sampled_from(["H15042800001", "P15040200007"]) | AWKWARD,
            "name": st.none() | AWKWARD}), max_size=3)),
        "points": draw(st.integers(0, 40)),
        "repaired": draw(st.integers(0, 6)),
        "sanctions": draw(st.lists(st.fixed_dictionaries({
            "kind": st.sampled_from(["warning", "suspension", "termination"]) | AWKWARD,
            "starts_on": DAYS, "ends_on": st.none() | DAYS, "reregistration_from": st.none() | DAYS}), max_size=2)),
    }


def reference(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for n, row in enumerate(rows, 1):
        sanctions = row["sanctions"]
        writer.writerow([
            n, cell(row["name"]), row["code"], CATEGORY_NAMES.get(row["category"], row["category"]),
            names_of(row["region"]),
            cell("；".join([f"{i['name'] or ''}({i['code']})" for i in row["institutions"]])),
            row["points"], row["repaired"], "；".join([sanction_text(s) for s in sanctions]) if sanctions else "",
        ])
    return buffer.getvalue()


@SETTINGS
@given(rows=st.lists(rows(), max_size=12), cuts=st.lists(st.integers(0, 12), max_size=4))
def test_the_download_is_what_csv_writer_writes(rows, cuts):
    stored = [canonical(row) for row in rows]
    edges = sorted({0, len(stored), *(c for c in cuts if c <= len(stored))})
    batches = [stored[a:b] for a, b in zip(edges, edges[1:])]
    assert "".join(csv_chunks(batches, names_of)) == reference(rows)


def test_a_notice_without_rows_is_its_header():
    assert "".join(csv_chunks([], names_of)) == "\ufeff" + ",".join(CSV_COLUMNS) + "\r\n"
