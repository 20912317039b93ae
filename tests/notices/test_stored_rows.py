"""A frozen row read straight from a stored timeline (``content.StoredRows``) is the row the pure
rule (``content.row_for`` over the ``Timeline``) gives, whatever the timeline, year and ``as_of``.

Two kinds of timelines: any shape a stored timeline can take (totals with changes on both sides of
``as_of``, totals of other years, repairs with and without points, a day's total of 0, sanctions
of every kind) and the ones ``standing.derive`` makes from random facts under the bundled rulesets.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.notices.content import StoredRows, row_for
from app.scoring.rulesets import load_rulesets
from app.scoring.standing import Entry, Facts, Repair, Sanction, Timeline, derive

pytestmark = pytest.mark.database_independent

SETTINGS = settings(max_examples=int(__import__("os").environ.get("APP_PROPERTY_EXAMPLES", "300")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
YEARS = st.integers(2024, 2026)
RULESETS = {r.id: r for r in load_rulesets()}
PERSON = ("D150428000123", "王小明", "physician", "150428", [("H15042800001", "喀喇沁旗医院"), ("H15042800002", None)])


def days_in(year: int):
    return st.integers(0, 364).map(lambda n: date(year, 1, 1) + timedelta(days=n))


@st.composite
def totals(draw) -> dict[int, list[tuple[date, int]]]:
    result = {}
    for year in draw(st.sets(YEARS, max_size=3)):
        days = sorted(draw(st.sets(days_in(year), min_size=1, max_size=5)))
        result[year] = [(day, draw(st.integers(0, 14))) for day in days]
    return result


# Days on and around the boundaries the rules compare (1 January, 31 December, a shared start),
# so that equal days, where ``<`` and ``<=`` part, come up often.
EDGES = [date(y, m, d) for y in (2024, 2025, 2026) for m, d in ((1, 1), (3, 1), (6, 30), (12, 31))]


def some_day():
    return st.sampled_from(EDGES) | YEARS.flatmap(days_in)


def days_after(day: date, low: int, high: int):
    return st.integers(low, high).map(lambda n: day + timedelta(days=n))


@st.composite
def sanctions(draw) -> list[Sanction]:
    found = []
    for n in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["warning", "suspension", "termination"]))
        starts_on = draw(some_day())
        until = None if kind == "termination" else draw(some_day() | days_after(starts_on, 0, 400))
        ends_on = draw(st.none() | some_day() | days_after(starts_on, -1, 500))
        bar = starts_on + timedelta(days=365 * 3) if kind == "termination" else None
        found.append(Sanction(kind=kind, trigger_entry_id=n + 1, starts_on=starts_on, imposed_until=until,
                              bar_until=bar, year=starts_on.year, total=12, ruleset_id="national-2024",
                              months=None if kind != "suspension" else 3, ends_on=ends_on))
    return found


@st.composite
def timelines(draw) -> Timeline:
    return Timeline(
        registered_on=date(2015, 1, 1),
        totals=draw(totals()),
        repaired=draw(st.dictionaries(YEARS, st.integers(0, 6), max_size=2)),
        sanctions=draw(st.lists(st.nothing()) | sanctions()),
    )


@st.composite
def derived(draw) -> Timeline:
    ruleset = draw(st.sampled_from(sorted(RULESETS)))
    rules, start = RULESETS[ruleset], date(2024, 1, 1)
    entries = tuple(
        Entry(id=i + 1, case_id=draw(st.integers(1, 3)), on=start + timedelta(days=draw(st.integers(0, 1000))),
              points=draw(st.integers(1, 12)), ruleset_id=ruleset)
        for i in range(draw(st.integers(1, 5))))
    repairs = tuple(
        Repair(id=100 + i, on=start + timedelta(days=draw(st.integers(0, 1000))),
               points=rules.repair.points_per_activity, ruleset_id=ruleset)
        for i in range(draw(st.integers(0, 2))))
    return derive(Facts(date(2015, 1, 1), entries, repairs), RULESETS)


@st.composite
def notice_dates(draw) -> tuple[int, date]:
    year = draw(YEARS)
    as_of = draw(st.sampled_from([date(year, 1, 1), date(year, 3, 1), date(year, 6, 30), date(year, 12, 31)])
                 | st.integers(0, 729).map(lambda d: date(year, 1, 1) + timedelta(days=d)))  # may lie after the year
    return year, as_of


def stored(timeline: Timeline) -> dict:
    """The timeline as a freeze reads it: stored with json.dumps, decoded with orjson."""
    return orjson.loads(json.dumps(timeline.to_json()))


@SETTINGS
@given(timeline=timelines() | derived(), when=notice_dates())
def test_a_row_from_the_stored_timeline_is_the_rules_row(timeline, when):
    year, as_of = when
    expected = row_for(*PERSON, timeline, year, as_of)
    assert StoredRows(year, as_of).row(*PERSON, stored(timeline)) == expected


def test_the_points_are_those_of_the_last_change_by_as_of():
    timeline = Timeline(registered_on=date(2015, 1, 1),
                        totals={2025: [(date(2025, 3, 1), 5), (date(2025, 6, 2), 9), (date(2025, 11, 3), 0)]})
    rows = {as_of: StoredRows(2025, date.fromisoformat(as_of)).row(*PERSON, stored(timeline))
            for as_of in ("2025-02-28", "2025-03-01", "2025-06-01", "2025-06-02", "2025-11-02", "2026-01-05")}
    assert {k: v and v["points"] for k, v in rows.items()} == {
        "2025-02-28": None, "2025-03-01": 5, "2025-06-01": 5, "2025-06-02": 9, "2025-11-02": 9, "2026-01-05": None}
