"""The pure replay: which entries a draft governs, how each is re-pointed, what cannot be placed,
and how the two sides compare. No database: ledger rows are written out by hand."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import pytest

from app.scoring.rulesets import load_rulesets, parse_ruleset
from app.scoring.service import facts_from_rows
from app.simulations import replay
from tests.simulations.conftest import INNER_MONGOLIA, LOWER_SUSPENSION, NATIONAL, edited

STORED = {r.id: r for r in load_rulesets()}
IM, NAT = "inner-mongolia-2025", "national-2024"
HOME = "150428"


def entry(id, on, points, violation, tier=None, circumstances=None, ruleset=IM, region=HOME, months=None):
    return SimpleNamespace(id=id, kind="entry", effective_on=on, points=points, case_id=id, target_id=None,
                           violation_type=violation, tier=tier, circumstances=circumstances, ruleset_id=ruleset,
                           details=json.dumps({"suspension_months": months}), case_region=region)


def repair(id, on, points=1, activity="policy_training", ruleset=IM):
    return SimpleNamespace(id=id, kind="repair", effective_on=on, points=points, case_id=None, target_id=None,
                           violation_type=None, tier=None, circumstances=None, ruleset_id=ruleset,
                           details=json.dumps({"activity": activity}), case_region=None)


def reversal(id, target):
    return SimpleNamespace(id=id, kind="reversal", effective_on=date(2026, 1, 5), points=None, case_id=None,
                           target_id=target, violation_type=None, tier=None, circumstances=None, ruleset_id=None,
                           details="{}", case_region=None)


def person(*rows, registered_on=date(2020, 1, 1), region=HOME):
    return replay.Person(1, f"D{region}000001", region, rows, facts_from_rows(registered_on, rows))


def plan(text=LOWER_SUSPENSION, year=2025, as_of=date(2025, 12, 31)):
    return replay.Plan(parse_ruleset(text), STORED, year, as_of)


def test_tiers_take_the_drafts_points_and_explicit_points_inside_the_band_stay():
    # Heavier band 3/4/5 today; the draft makes it 4/5/5.
    draft = edited(INNER_MONGOLIA, ("points = { general = 3, important = 4, primary = 5 }",
                                    "points = { general = 4, important = 5, primary = 5 }"))
    result = replay.replay(person(
        entry(1, date(2025, 3, 1), 3, "SPLIT-CHARGING", tier="general"),  # re-pointed: 4
        entry(2, date(2025, 3, 2), 3, "DUPLICATE-CHARGING"),  # explicit, inside 3-5: stays 3
        entry(3, date(2025, 3, 3), 5, "OVERTREATMENT", tier="general"),  # a tier, but 5 was given: explicit
    ), plan(draft))
    assert (result.live.points, result.draft.points) == (11, 12)
    assert result.draft.outcome == "termination" and result.change == replay.STRICTER
    assert (result.entries, result.repointed, result.points_changed) == (3, 3, 1)
    assert result.unplaced == []


def test_what_the_draft_cannot_place_keeps_its_recorded_points_and_is_listed():
    # The draft drops TRACE-CODE and the publicity activity, narrows the light band to 1 point and
    # allows suspensions of 1-2 months only.
    draft = edited(
        LOWER_SUSPENSION,
        ('[[violation_types]]\ncode = "TRACE-CODE"\nname = "违反药品追溯码规定（未按规定采集、上传药品追溯码）"\n'
         'band = "light"\n', ""),
        ('activities = ["policy_training", "publicity", "inspection_assistance"]', 'activities = ["policy_training"]'),
        ("min = 1\nmax = 2\npoints = { general = 1, important = 1, primary = 2 }",
         "min = 1\nmax = 1\npoints = { general = 1, important = 1, primary = 1 }"),
        ("min = 3\nmax = 5\n", "min = 2\nmax = 5\n"),
        ("max_months = 3", "max_months = 2"),
        ("{ 7 = 1, 8 = 1, 9 = 1, 10 = 2, 11 = 3 }", "{ 7 = 1, 8 = 1, 9 = 1, 10 = 2, 11 = 2 }"),
    )
    result = replay.replay(person(
        entry(1, date(2025, 2, 1), 2, "TRACE-CODE", tier="primary"),
        entry(2, date(2025, 2, 2), 2, "RECORDS-MISSING"),  # explicit 2: outside the draft's light band
        entry(3, date(2025, 2, 3), 6, "UPCODING", tier="general", months=3),  # the bureau gave 3 months
        repair(4, date(2025, 2, 10), activity="publicity"),
    ), plan(draft))
    reasons = [(u.row_id, u.kind, u.reason) for u in result.unplaced]
    assert reasons == [(1, "entry", replay.VIOLATION_UNKNOWN), (2, "entry", replay.POINTS_OUTSIDE_BAND),
                       (3, "entry", replay.MONTHS_OUTSIDE_RANGE), (4, "repair", replay.ACTIVITY_UNKNOWN)]
    assert result.draft.points == result.live.points == 2 + 2 + 6 - 1
    # Both suspend on 3 February: today for the bureau's 3 months, under the draft for its 2 at 10 points.
    assert [(s.starts_on, s.months) for s in result.live.sanctions] == [(date(2025, 2, 3), 3)]
    assert [(s.starts_on, s.months) for s in result.draft.sanctions] == [(date(2025, 2, 3), 2)]
    assert result.change == replay.UNCHANGED and result.terms_changed
    assert result.unplaced[1].as_dict("X")["detail"].startswith("explicit 2 points lie outside the draft's band light")


def test_repairs_follow_the_drafts_points_and_cap_and_may_lift_a_suspension():
    # Today (inner-mongolia-2025): 1 point a repair, cap 3, lifting. Draft: 2 a repair, cap 2, not lifting.
    draft = edited(INNER_MONGOLIA, ("points_per_activity = 1\nyearly_cap = 3\nlifts_sanction = true",
                                    "points_per_activity = 2\nyearly_cap = 2\nlifts_sanction = false"))
    rows = (entry(1, date(2025, 5, 1), 9, "FRAUD-IMPERSONATION", tier="general"),
            repair(2, date(2025, 5, 5)), repair(3, date(2025, 5, 6)), repair(4, date(2025, 5, 7)))
    result = replay.replay(person(*rows), plan(draft, as_of=date(2025, 5, 20)))
    assert (result.live.points, result.live.repaired) == (6, 3)
    assert (result.draft.points, result.draft.repaired) == (7, 2)
    # Today the first repair drops the year below 9 and ends the month's suspension on 4 May; not under the draft.
    assert result.live.status == "active" and result.live.sanctions[0].ends_on == date(2025, 5, 4)
    assert result.draft.status == "suspended" and result.draft.sanctions[0].ends_on is None
    # Suspended on both sides: the same outcome, on other terms.
    assert result.change == replay.UNCHANGED and result.terms_changed


def test_a_suspension_carried_from_last_year_delays_the_new_one_on_both_sides():
    # 9 points under national-2024 on 1 December 2024: suspended for 2 months, to 31 January 2025.
    rows = (entry(1, date(2024, 12, 1), 9, "UPCODING", tier="primary", ruleset=NAT),
            entry(2, date(2025, 1, 10), 8, "UPCODING", tier="primary"))
    result = replay.replay(person(*rows), plan(as_of=date(2025, 2, 15)))
    assert result.live.outcome == "none" and result.live.status == "active"
    # Under the draft the 8 points of 10 January suspend, but only after last year's suspension.
    [queued] = result.draft.sanctions
    assert (queued.starts_on, queued.imposed_until) == (date(2025, 2, 1), date(2025, 2, 28))
    assert result.change == replay.STRICTER


def test_earlier_years_are_not_re_pointed_and_reversed_entries_do_not_count():
    rows = (entry(1, date(2024, 10, 1), 8, "UPCODING", tier="primary", ruleset=NAT),
            entry(2, date(2025, 3, 1), 8, "UPCODING", tier="primary"),
            reversal(3, target=2))
    assert replay.replay(person(*rows), plan()) is None  # nothing of 2025 stands
    result = replay.replay(person(*rows), plan(year=2024, as_of=date(2024, 12, 31)))
    # The draft, in force from 1 January 2024, governs the 2024 entry: 7 points from serious primary 8.
    assert (result.live.points, result.draft.points) == (8, 8)
    assert result.draft.outcome == "suspension" and result.live.outcome == "none"


def test_a_more_lenient_draft_and_the_direction_of_change():
    lenient = edited(INNER_MONGOLIA, ("suspension = 9\n", "suspension = 10\n"),
                     ("months_by_total = { 9 = 1, 10 = 2, 11 = 3 }", "months_by_total = { 10 = 2, 11 = 3 }"))
    result = replay.replay(person(entry(1, date(2025, 6, 1), 9, "FRAUD-IMPERSONATION", tier="general")),
                           plan(lenient, as_of=date(2025, 6, 10)))
    assert (result.live.outcome, result.draft.outcome) == ("suspension", "none")
    assert (result.live.status, result.draft.status) == ("suspended", "active")
    assert result.change == replay.MORE_LENIENT


@pytest.mark.parametrize(("text", "region", "governs"), [
    (INNER_MONGOLIA, HOME, True),  # the draft of the ruleset in force, same id: it replaces it
    (LOWER_SUSPENSION, HOME, True),  # a new id for the same jurisdiction: the draft wins the tie
    (NATIONAL, HOME, False),  # a national draft under a province with its own rules
    (NATIONAL, "210402", True),  # ... and where the national default governs
    (LOWER_SUSPENSION, "210402", False),  # a province's draft elsewhere
])
def test_which_cases_the_draft_governs(text, region, governs):
    assert plan(text).governs(region, date(2025, 6, 1)) is governs


def test_the_summary_counts_bands_sanctions_and_changes():
    p = plan()
    summary = replay.Summary(p, STORED[IM], people_in_region=10)
    for points, day in ((7, date(2025, 12, 20)), (2, date(2025, 3, 1)), (12, date(2025, 4, 1))):
        violation = {7: "UPCODING", 2: "RECORDS-MISSING", 12: "FRAUD-IMPERSONATION"}[points]
        summary.add(replay.replay(person(entry(1, day, points, violation)), p))
    counted = summary.as_dict()
    assert counted["people_in_region"] == 10 and counted["people_scored"] == 3
    assert {b["band"]: b["people"] for b in counted["draft"]["by_points"]} == {
        "light": 1, "heavier": 0, "serious": 1, "most_serious": 1}
    assert (counted["live"]["suspended"], counted["draft"]["suspended"]) == (0, 1)
    assert (counted["live"]["terminated"], counted["draft"]["terminated"]) == (1, 1)
    assert counted["changes"]["stricter"] == 1 and counted["changes"]["unchanged"] == 2
    assert counted["changes"]["terms_changed"] == 0
    assert counted["draft"]["ruleset"] == "inner-mongolia-2026" and counted["live"]["ruleset"] == IM
