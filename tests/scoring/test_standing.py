"""Standing scenarios: the pure timeline (derive / evaluate / reconcile) under each bundled ruleset.

No database. Every expected number and date is written out in the tables below, read off the
ruleset files by hand, so that a wrong ruleset number or a wrong rule in standing.py fails here.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from app.scoring.rulesets import load_rulesets
from app.scoring.standing import (
    ACTIVE,
    NOT_REGISTERED,
    OPEN_ENDED,
    SUSPENDED,
    SUSPENSION,
    TERMINATED,
    TERMINATION,
    WARNING,
    Entry,
    Facts,
    Repair,
    Timeline,
    derive,
    evaluate,
    months_last_day,
    reconcile,
    reregistration_problem,
)

# Pure: the PostgreSQL pass of CI skips this module (conftest.py).
pytestmark = pytest.mark.database_independent

RULESETS = {r.id: r for r in load_rulesets()}
NATIONAL, TIANJIN, INNER_MONGOLIA = "national-2024", "tianjin-2024", "inner-mongolia-2025"
ALL = [NATIONAL, TIANJIN, INNER_MONGOLIA]
REGISTERED = date(2025, 1, 1)

D = date  # short, for the tables


def entry(id: int, on: date, points: int, rs: str, case: int | None = None, months: int | None = None) -> Entry:
    return Entry(id=id, case_id=id if case is None else case, on=on, points=points, ruleset_id=rs,
                 suspension_months=months)


def repair(id: int, on: date, rs: str, points: int = 1) -> Repair:
    return Repair(id=id, on=on, points=points, ruleset_id=rs)


def timeline(*entries: Entry, repairs=(), reregistrations=(), registered_on=REGISTERED, rulesets=RULESETS):
    facts = Facts(registered_on=registered_on, entries=list(entries), repairs=list(repairs),
                  reregistrations=list(reregistrations))
    return derive(facts, rulesets)


def kinds(t: Timeline) -> list[str]:
    return [s.kind for s in t.sanctions]


def only(t: Timeline, kind: str):
    found = [s for s in t.sanctions if s.kind == kind]
    assert len(found) == 1, t.sanctions
    return found[0]


# ---------------------------------------------------------------- thresholds: 8, 9, 10, 11

@pytest.mark.parametrize("rs", ALL)
def test_eight_points_stay_active_and_billing(rs):
    t = timeline(entry(1, D(2025, 2, 3), 4, rs), entry(2, D(2025, 3, 10), 4, rs))
    # Tianjin's warning level (6) is crossed by 8; nobody suspends at 8.
    assert kinds(t) == {NATIONAL: [], TIANJIN: [WARNING], INNER_MONGOLIA: []}[rs]
    s = evaluate(t, D(2025, 3, 10), RULESETS)
    assert (s.status, s.billing_allowed, s.emergency_allowed, s.points) == (ACTIVE, True, True, 8)
    assert s.suspended_from is s.suspended_until is s.terminated_on is None


# (ruleset, year total, months, last suspended day) for a crossing on 2025-03-10.
SUSPENSIONS = [
    (NATIONAL, 9, 2, D(2025, 5, 9)),
    (NATIONAL, 10, 4, D(2025, 7, 9)),
    (NATIONAL, 11, 6, D(2025, 9, 9)),
    (TIANJIN, 9, 3, D(2025, 6, 9)),
    (TIANJIN, 10, 4, D(2025, 7, 9)),
    (TIANJIN, 11, 6, D(2025, 9, 9)),
    (INNER_MONGOLIA, 9, 1, D(2025, 4, 9)),
    (INNER_MONGOLIA, 10, 2, D(2025, 5, 9)),
    (INNER_MONGOLIA, 11, 3, D(2025, 6, 9)),
]


@pytest.mark.parametrize(("rs", "total", "months", "until"), SUSPENSIONS)
def test_suspension_months_by_year_total(rs, total, months, until):
    t = timeline(entry(1, D(2025, 2, 3), 4, rs), entry(2, D(2025, 3, 10), total - 4, rs))
    # 4 -> 9+ also reaches Tianjin's warning level: focused supervision once the suspension ends.
    assert kinds(t) == ([WARNING, SUSPENSION] if rs == TIANJIN else [SUSPENSION])
    s = only(t, SUSPENSION)
    assert (s.trigger_entry_id, s.starts_on, s.imposed_until, s.months, s.total, s.year) == (
        2, D(2025, 3, 10), until, months, total, 2025)
    assert s.ends_on is None and s.bar_until is None

    before = evaluate(t, D(2025, 3, 9), RULESETS)
    assert (before.status, before.billing_allowed, before.points) == (ACTIVE, True, 4)
    for day in (D(2025, 3, 10), until):
        s = evaluate(t, day, RULESETS)
        assert (s.status, s.billing_allowed, s.points) == (SUSPENDED, False, total)
        assert (s.suspended_from, s.suspended_until) == (D(2025, 3, 10), until)
    after = evaluate(t, D.fromordinal(until.toordinal() + 1), RULESETS)
    assert (after.status, after.billing_allowed, after.suspended_from, after.suspended_until) == (
        ACTIVE, True, None, None)


# The deciding bureau's months win over the ruleset's table (9 points: 2 / 3 / 1 by the table).
@pytest.mark.parametrize(("rs", "months", "until"), [
    (NATIONAL, 5, D(2025, 8, 9)),
    (TIANJIN, 1, D(2025, 4, 9)),
    (INNER_MONGOLIA, 3, D(2025, 6, 9)),
])
def test_bureau_given_months_override_the_table(rs, months, until):
    t = timeline(entry(1, D(2025, 2, 3), 4, rs), entry(2, D(2025, 3, 10), 5, rs, months=months))
    s = only(t, SUSPENSION)
    assert (s.months, s.starts_on, s.imposed_until) == (months, D(2025, 3, 10), until)
    assert evaluate(t, until, RULESETS).status == SUSPENDED
    assert evaluate(t, D.fromordinal(until.toordinal() + 1), RULESETS).status == ACTIVE


# ---------------------------------------------------------------- termination

# 5 + 4 = 9 on 2025-03-10 suspends; + 3 = 12 on 2025-04-07 terminates and cuts the suspension.
@pytest.mark.parametrize(("rs", "imposed_until"), [
    (NATIONAL, D(2025, 5, 9)),
    (TIANJIN, D(2025, 6, 9)),
    (INNER_MONGOLIA, D(2025, 4, 9)),
])
def test_twelve_by_accumulation_while_suspended(rs, imposed_until):
    t = timeline(entry(1, D(2025, 2, 3), 5, rs), entry(2, D(2025, 3, 10), 4, rs), entry(3, D(2025, 4, 7), 3, rs))
    assert [k for k in kinds(t) if k != WARNING] == [SUSPENSION, TERMINATION]
    suspension, termination = only(t, SUSPENSION), only(t, TERMINATION)
    assert suspension.imposed_until == imposed_until  # as imposed: the key does not change
    assert (suspension.ends_on, suspension.end_reason) == (D(2025, 4, 6), "superseded by termination")
    assert (termination.trigger_entry_id, termination.starts_on, termination.imposed_until) == (3, D(2025, 4, 7), None)
    assert (termination.bar_until, termination.total, termination.ends_on) == (D(2026, 4, 7), 12, None)

    s = evaluate(t, D(2025, 4, 6), RULESETS)
    assert (s.status, s.suspended_from, s.suspended_until) == (SUSPENDED, D(2025, 3, 10), D(2025, 4, 6))
    for day in (D(2025, 4, 7), D(2025, 4, 8), D(2026, 4, 6), D(2027, 12, 31)):
        s = evaluate(t, day, RULESETS)
        assert (s.status, s.billing_allowed, s.terminated_on) == (TERMINATED, False, D(2025, 4, 7))
        assert s.reregistration_barred_until == D(2026, 4, 7)
        assert s.suspended_from is None and s.suspended_until is None


@pytest.mark.parametrize("rs", ALL)
def test_twelve_by_accumulation_jumping_past_suspension(rs):
    t = timeline(entry(1, D(2025, 2, 3), 8, rs), entry(2, D(2025, 6, 16), 4, rs))
    assert kinds(t) == {NATIONAL: [TERMINATION], TIANJIN: [WARNING, TERMINATION],
                        INNER_MONGOLIA: [TERMINATION]}[rs]
    termination = only(t, TERMINATION)
    assert (termination.starts_on, termination.bar_until) == (D(2025, 6, 16), D(2026, 6, 16))
    s = evaluate(t, D(2025, 6, 16), RULESETS)
    assert (s.status, s.points, s.focused_supervision) == (TERMINATED, 12, False)


# (description, entries as (id, case, day, points), trigger, bar_until)
AT_ONCE = [
    ("one entry of 12", [(1, 7, D(2025, 5, 20), 12)], 1, D(2028, 5, 20)),
    ("two entries of one case", [(1, 7, D(2025, 5, 20), 7), (2, 7, D(2025, 5, 20), 5)], 2, D(2028, 5, 20)),
    ("one case of 12 on top of 3", [(1, 1, D(2025, 2, 3), 3), (2, 2, D(2025, 5, 20), 12)], 2, D(2028, 5, 20)),
    ("two cases of 6 the same day", [(1, 1, D(2025, 5, 20), 6), (2, 2, D(2025, 5, 20), 6)], 2, D(2026, 5, 20)),
]


@pytest.mark.parametrize("rs", ALL)
@pytest.mark.parametrize(("case", "rows", "trigger", "bar_until"), AT_ONCE, ids=[c[0] for c in AT_ONCE])
def test_twelve_at_once_bars_for_three_years(rs, case, rows, trigger, bar_until):
    t = timeline(*[entry(i, day, points, rs, case=c) for i, c, day, points in rows])
    assert SUSPENSION not in kinds(t)
    termination = only(t, TERMINATION)
    assert (termination.trigger_entry_id, termination.starts_on, termination.bar_until) == (
        trigger, D(2025, 5, 20), bar_until)
    assert evaluate(t, D(2025, 5, 20), RULESETS).reregistration_barred_until == bar_until


@pytest.mark.parametrize("rs", ALL)
def test_entries_while_terminated_count_and_what_they_call_for_waits_behind_the_termination(rs):
    t = timeline(
        entry(1, D(2025, 3, 10), 12, rs),
        entry(2, D(2025, 5, 5), 5, rs),  # 17 in 2025: the bar runs from here if that is later
        entry(3, D(2026, 2, 2), 7, rs),  # warns in Tianjin
        entry(4, D(2026, 3, 2), 3, rs),  # suspends (10)
        entry(5, D(2026, 4, 1), 2, rs),  # 12 again: the bar from here (2027-04-01) is earlier: unchanged
    )
    assert [k for k in kinds(t) if k != WARNING] == [TERMINATION, SUSPENSION]
    assert (WARNING in kinds(t)) is (rs == TIANJIN)
    assert only(t, TERMINATION).bar_until == D(2028, 3, 10)  # 12 in one case
    assert t.year_total(2025) == 17 and t.year_total(2026) == 12
    s = evaluate(t, D(2026, 4, 1), RULESETS)
    assert (s.status, s.points, s.terminated_on, s.focused_supervision) == (TERMINATED, 12, D(2025, 3, 10), False)
    assert (s.suspended_from, s.suspended_until) == (None, None)


def test_a_score_at_the_level_while_terminated_extends_the_bar():
    rs = NATIONAL
    t = timeline(entry(1, D(2025, 3, 10), 6, rs), entry(2, D(2025, 3, 10), 6, rs, case=2),  # 12: bar 1 year
                 entry(3, D(2025, 9, 1), 1, rs))  # 13: the bar runs a year from here
    assert only(t, TERMINATION).bar_until == D(2026, 9, 1)


def test_a_suspension_called_while_terminated_applies_after_the_re_registration():
    # Terminated on 2025-11-03 (two cases of 6: a bar of 1 year); 9 points on 2026-10-01 call for
    # 2 months, which still run when the person registers again on 2026-11-03.
    rs = NATIONAL
    t = timeline(entry(1, D(2025, 11, 3), 6, rs, case=1), entry(2, D(2025, 11, 3), 6, rs, case=2),
                 entry(3, D(2026, 10, 1), 9, rs), reregistrations=[D(2026, 11, 3)])
    assert evaluate(t, D(2026, 11, 2), RULESETS).status == TERMINATED
    s = evaluate(t, D(2026, 11, 3), RULESETS)
    assert (s.status, s.suspended_until) == (SUSPENDED, D(2026, 11, 30))
    assert evaluate(t, D(2026, 12, 1), RULESETS).status == ACTIVE


# ---------------------------------------------------------------- warning (Tianjin only)

@pytest.mark.parametrize("rs", ALL)
def test_warning_puts_under_focused_supervision_for_the_rest_of_the_year(rs):
    t = timeline(entry(1, D(2025, 2, 3), 3, rs), entry(2, D(2025, 3, 10), 3, rs), entry(3, D(2025, 4, 1), 1, rs))
    warned = {NATIONAL: False, TIANJIN: True, INNER_MONGOLIA: False}[rs]
    assert kinds(t) == ([WARNING] if warned else [])
    if warned:
        w = t.sanctions[0]
        assert (w.trigger_entry_id, w.starts_on, w.imposed_until, w.total) == (2, D(2025, 3, 10), D(2025, 12, 31), 6)
    expected = [
        (D(2025, 3, 9), False),
        (D(2025, 3, 10), warned),
        (D(2025, 12, 31), warned),
        (D(2026, 1, 1), False),
    ]
    for day, focused in expected:
        s = evaluate(t, day, RULESETS)
        assert (s.status, s.billing_allowed, s.focused_supervision) == (ACTIVE, True, focused), day


def test_warning_once_a_year_and_again_next_year():
    rs = TIANJIN
    t = timeline(entry(1, D(2025, 3, 10), 7, rs), entry(2, D(2025, 4, 1), 1, rs), entry(3, D(2026, 2, 2), 6, rs))
    assert [(s.kind, s.starts_on, s.imposed_until) for s in t.sanctions] == [
        (WARNING, D(2025, 3, 10), D(2025, 12, 31)),
        (WARNING, D(2026, 2, 2), D(2026, 12, 31)),
    ]


@pytest.mark.parametrize(("jump", "expected"), [(10, [WARNING, SUSPENSION]), (12, [TERMINATION]), (6, [WARNING])])
def test_tianjin_warning_from_the_day_the_total_reaches_it_even_past_suspension(jump, expected):
    # Reaching 10 also reaches 6: once the suspension ends the person is under focused supervision
    # for the rest of the year. A termination imposes nothing more.
    t = timeline(entry(1, D(2025, 3, 10), jump, TIANJIN))
    assert kinds(t) == expected
    assert evaluate(t, D(2025, 3, 10), RULESETS).focused_supervision is (expected == [WARNING])
    assert evaluate(t, D(2025, 12, 31), RULESETS).focused_supervision is (WARNING in expected)


# ---------------------------------------------------------------- natural years

@pytest.mark.parametrize("rs", ALL)
def test_points_count_in_the_year_of_their_date(rs):
    split = timeline(entry(1, D(2025, 12, 31), 5, rs), entry(2, D(2026, 1, 1), 5, rs))
    assert kinds(split) == []
    assert (split.year_total(2025), split.year_total(2026)) == (5, 5)
    assert [(d, evaluate(split, d, RULESETS).points) for d in (D(2025, 12, 31), D(2026, 1, 1))] == [
        (D(2025, 12, 31), 5), (D(2026, 1, 1), 5)]
    assert evaluate(split, D(2026, 1, 1), RULESETS).status == ACTIVE

    same_year = timeline(entry(1, D(2025, 12, 30), 5, rs), entry(2, D(2025, 12, 31), 5, rs))
    assert [k for k in kinds(same_year) if k != WARNING] == [SUSPENSION]
    assert evaluate(same_year, D(2026, 1, 1), RULESETS).points == 0


# 4 (2025-11-03) + 6 (2025-12-01) = 10 suspends from 2025-12-01 across 1 January; 9 more on
# 2026-01-12 is a second crossing (2026 total 9) queued after the first.
# (ruleset, first last day, second first day, second last day)
ACROSS_YEARS = [
    (NATIONAL, D(2026, 3, 31), D(2026, 4, 1), D(2026, 5, 31)),  # 4 months, then 2
    (TIANJIN, D(2026, 3, 31), D(2026, 4, 1), D(2026, 6, 30)),  # 4 months, then 3
    (INNER_MONGOLIA, D(2026, 1, 31), D(2026, 2, 1), D(2026, 2, 28)),  # 2 months, then 1
]


def across_years(rs: str, *more: Entry) -> Timeline:
    return timeline(entry(1, D(2025, 11, 3), 4, rs), entry(2, D(2025, 12, 1), 6, rs), *more)


@pytest.mark.parametrize(("rs", "first_until", "second_from", "second_until"), ACROSS_YEARS)
def test_suspension_runs_across_new_year_and_the_next_one_queues(rs, first_until, second_from, second_until):
    t = across_years(rs)
    s = evaluate(t, D(2026, 1, 1), RULESETS)
    assert (s.status, s.points, s.suspended_from, s.suspended_until) == (SUSPENDED, 0, D(2025, 12, 1), first_until)

    t = across_years(rs, entry(3, D(2026, 1, 12), 9, rs))
    first, second = [s for s in t.sanctions if s.kind == SUSPENSION]
    assert (first.starts_on, first.imposed_until, first.year, first.total) == (D(2025, 12, 1), first_until, 2025, 10)
    assert (second.trigger_entry_id, second.starts_on, second.imposed_until, second.year, second.total) == (
        3, second_from, second_until, 2026, 9)
    # One unbroken period for a claim: from the first day of the first to the last of the second.
    expected = [
        (D(2026, 1, 12), SUSPENDED, D(2025, 12, 1), second_until),
        (first_until, SUSPENDED, D(2025, 12, 1), second_until),
        (second_from, SUSPENDED, D(2025, 12, 1), second_until),
        (second_until, SUSPENDED, D(2025, 12, 1), second_until),
        (D.fromordinal(second_until.toordinal() + 1), ACTIVE, None, None),
    ]
    for day, status, since, until in expected:
        s = evaluate(t, day, RULESETS)
        assert (s.status, s.suspended_from, s.suspended_until) == (status, since, until), day


@pytest.mark.parametrize(("rs", "first_until", "second_from", "second_until"), ACROSS_YEARS)
def test_termination_cuts_running_and_queued_suspensions(rs, first_until, second_from, second_until):
    t = across_years(rs, entry(3, D(2026, 1, 12), 9, rs), entry(4, D(2026, 1, 20), 3, rs))
    first, second = [s for s in t.sanctions if s.kind == SUSPENSION]
    termination = only(t, TERMINATION)
    assert (first.imposed_until, first.ends_on, first.end_reason) == (
        first_until, D(2026, 1, 19), "superseded by termination")
    assert (second.starts_on, second.ends_on, second.end_reason) == (
        second_from, D.fromordinal(second_from.toordinal() - 1), "superseded by termination")
    assert (termination.starts_on, termination.bar_until) == (D(2026, 1, 20), D(2027, 1, 20))
    for day in (D(2026, 1, 20), second_from, second_until):
        assert evaluate(t, day, RULESETS).status == TERMINATED


# ---------------------------------------------------------------- reversal

@pytest.mark.parametrize("rs", ALL)
def test_reversed_entry_lifts_the_suspension(rs):
    e1, e2 = entry(1, D(2025, 2, 3), 5, rs), entry(2, D(2025, 3, 10), 4, rs)
    old, new = timeline(e1, e2), timeline(e1)  # entry 2 reversed: simply absent
    assert SUSPENSION in kinds(old) and SUSPENSION not in kinds(new)
    assert reconcile(recorded=old.sanctions, derived=new.sanctions) == ([], [], old.sanctions)
    s = evaluate(new, D(2025, 3, 10), RULESETS)
    assert (s.status, s.billing_allowed, s.points) == (ACTIVE, True, 5)


@pytest.mark.parametrize("rs", ALL)
def test_reversed_entry_lifts_the_termination_and_restores_the_suspension(rs):
    e1, e2, e3 = entry(1, D(2025, 2, 3), 5, rs), entry(2, D(2025, 3, 10), 4, rs), entry(3, D(2025, 4, 7), 3, rs)
    old, new = timeline(e1, e2, e3), timeline(e1, e2)
    to_record, changed, to_lift = reconcile(recorded=old.sanctions, derived=new.sanctions)
    assert to_record == []
    # The suspension is the same sanction; it now runs to its imposed end: a change to announce.
    assert [(s.kind, s.trigger_entry_id, s.ends_on) for s in changed] == [(SUSPENSION, 2, None)]
    assert [(s.kind, s.trigger_entry_id) for s in to_lift] == [(TERMINATION, 3)]
    assert only(new, SUSPENSION).ends_on is None
    s = evaluate(new, D(2025, 4, 7), RULESETS)
    assert (s.status, s.suspended_from, s.terminated_on) == (SUSPENDED, D(2025, 3, 10), None)


@pytest.mark.parametrize("rs", ALL)
def test_reconcile_identical_timelines_is_empty(rs):
    facts = [entry(1, D(2025, 2, 3), 5, rs), entry(2, D(2025, 3, 10), 4, rs), entry(3, D(2025, 4, 7), 3, rs)]
    assert reconcile(recorded=timeline(*facts).sanctions, derived=timeline(*facts).sanctions) == ([], [], [])


# 1 + 10 = 11 on 2025-03-10; reversing the 1 leaves 10: fewer months, same start and trigger.
@pytest.mark.parametrize(("rs", "old_months", "old_until", "new_months", "new_until"), [
    (NATIONAL, 6, D(2025, 9, 9), 4, D(2025, 7, 9)),
    (TIANJIN, 6, D(2025, 9, 9), 4, D(2025, 7, 9)),
    (INNER_MONGOLIA, 3, D(2025, 6, 9), 2, D(2025, 5, 9)),
])
def test_reversal_changing_the_months_changes_the_suspension(rs, old_months, old_until, new_months, new_until):
    e1, e2 = entry(1, D(2025, 2, 3), 1, rs), entry(2, D(2025, 3, 10), 10, rs)
    old, new = timeline(e1, e2), timeline(e2)
    was, now = only(old, SUSPENSION), only(new, SUSPENSION)
    assert (was.months, was.imposed_until) == (old_months, old_until)
    assert (now.months, now.imposed_until, now.starts_on) == (new_months, new_until, D(2025, 3, 10))
    # Same trigger, shorter: one sanction changed, not one lifted and another imposed.
    assert reconcile(recorded=[was], derived=[now]) == ([], [now], [])
    assert evaluate(new, D.fromordinal(new_until.toordinal() + 1), RULESETS).status == ACTIVE


# ---------------------------------------------------------------- repairs

# 6 points on 2025-02-03, then six one-point repairs in March: the yearly cap stops them.
@pytest.mark.parametrize(("rs", "effects", "total"), [
    (NATIONAL, [1, 1, 1, 1, 0, 0], 2),
    (TIANJIN, [1, 1, 1, 1, 0, 0], 2),
    (INNER_MONGOLIA, [1, 1, 1, 0, 0, 0], 3),
])
def test_repair_yearly_cap_and_reset(rs, effects, total):
    repairs = [repair(10 + i, D(2025, 3, 2 + i), rs) for i in range(6)]
    repairs.append(repair(20, D(2026, 2, 2), rs))  # a new year: the cap starts again
    t = timeline(entry(1, D(2025, 2, 3), 6, rs), entry(2, D(2026, 1, 5), 3, rs), repairs=repairs)
    assert [t.repair_effect[10 + i] for i in range(6)] == effects
    assert t.repaired[2025] == sum(effects)
    assert (t.year_total(2025), evaluate(t, D(2025, 12, 31), RULESETS).points) == (total, total)
    assert (t.repair_effect[20], t.repaired[2026], t.year_total(2026)) == (1, 1, 2)


@pytest.mark.parametrize("rs", ALL)
def test_repair_never_below_zero(rs):
    t = timeline(entry(1, D(2025, 2, 3), 2, rs),
                 repairs=[repair(10, D(2025, 3, 2), rs), repair(11, D(2025, 3, 3), rs),
                          repair(12, D(2025, 3, 4), rs), repair(13, D(2026, 1, 5), rs)])
    assert t.repair_effect == {10: 1, 11: 1, 12: 0, 13: 0}
    assert (t.year_total(2025), t.year_total(2026), t.repaired.get(2025)) == (0, 0, 2)
    assert evaluate(t, D(2025, 3, 4), RULESETS).points == 0

    nothing = timeline(repairs=[repair(10, D(2025, 3, 2), rs)])
    assert nothing.repair_effect == {10: 0}
    assert nothing.year_total(2025) == 0


# 5 + 4 = 9 on 2025-03-10 suspends; a repair on 2025-03-20 takes the total to 8.
@pytest.mark.parametrize(("rs", "lifted"), [(NATIONAL, False), (TIANJIN, False), (INNER_MONGOLIA, True)])
def test_repair_lifts_suspension_only_where_the_ruleset_says(rs, lifted):
    t = timeline(entry(1, D(2025, 2, 3), 5, rs), entry(2, D(2025, 3, 10), 4, rs),
                 repairs=[repair(10, D(2025, 3, 20), rs)])
    s = only(t, SUSPENSION)
    assert t.repair_effect[10] == 1
    if lifted:
        assert (s.ends_on, s.end_reason) == (D(2025, 3, 19), "repaired below the threshold")
    else:
        assert (s.ends_on, s.end_reason) == (None, None)
    assert evaluate(t, D(2025, 3, 19), RULESETS).status == SUSPENDED
    after = evaluate(t, D(2025, 3, 20), RULESETS)
    assert (after.status, after.points) == ((ACTIVE if lifted else SUSPENDED), 8)


@pytest.mark.parametrize("rs", ALL)
def test_repair_not_below_the_threshold_keeps_the_suspension(rs):
    t = timeline(entry(1, D(2025, 2, 3), 5, rs), entry(2, D(2025, 3, 10), 5, rs),
                 repairs=[repair(10, D(2025, 3, 20), rs)])  # 10 -> 9
    assert only(t, SUSPENSION).ends_on is None
    s = evaluate(t, D(2025, 3, 20), RULESETS)
    assert (s.status, s.points) == (SUSPENDED, 9)


@pytest.mark.parametrize("rs", ALL)
def test_repair_in_a_new_year_does_not_end_last_years_suspension(rs):
    # Suspended from 2025-12-01 for 3 months (bureau's months) on the 2025 total of 10. In 2026
    # a repair takes the 2026 total from 2 to 1: that total never reached the threshold, and the
    # suspension runs to its end across 1 January.
    t = timeline(entry(1, D(2025, 11, 3), 4, rs), entry(2, D(2025, 12, 1), 6, rs, months=3),
                 entry(3, D(2026, 1, 5), 2, rs), repairs=[repair(10, D(2026, 1, 12), rs)])
    s = only(t, SUSPENSION)
    assert (s.imposed_until, s.ends_on) == (D(2026, 2, 28), None)
    assert t.repair_effect[10] == 1
    now = evaluate(t, D(2026, 1, 20), RULESETS)
    assert (now.status, now.points, now.suspended_until) == (SUSPENDED, 1, D(2026, 2, 28))


def test_inner_mongolia_repair_cancels_the_queued_suspension_not_the_running_one():
    rs = INNER_MONGOLIA
    t = timeline(
        entry(1, D(2025, 11, 3), 4, rs), entry(2, D(2025, 12, 1), 6, rs, months=3),  # to 2026-02-28
        entry(3, D(2026, 1, 5), 9, rs),  # queued: 2026-03-01 .. 2026-03-31
        entry(4, D(2026, 1, 20), 1, rs),  # 2026: 9 again after the repair below
        repairs=[repair(10, D(2026, 1, 10), rs)],  # 2026: 9 -> 8, lifts the 2026 suspension
    )
    first, queued, again = t.sanctions
    assert (first.starts_on, first.imposed_until, first.ends_on) == (D(2025, 12, 1), D(2026, 2, 28), None)
    assert (queued.starts_on, queued.end_reason) == (D(2026, 3, 1), "repaired below the threshold")
    # Still imposed while last year's runs: it starts the day after that one ends.
    assert (again.trigger_entry_id, again.starts_on, again.imposed_until) == (4, D(2026, 3, 1), D(2026, 3, 31))
    assert evaluate(t, D(2026, 1, 25), RULESETS).suspended_from == D(2025, 12, 1)
    # Back to back with last year's: one period for a claim.
    assert evaluate(t, D(2026, 3, 1), RULESETS).suspended_from == D(2025, 12, 1)


# ---------------------------------------------------------------- re-registration

def terminated(rs: str, *, reregistrations=(), points: int = 3) -> Timeline:
    # 5 + 4 + 3 = 12 by accumulation on 2025-04-07: barred until 2026-04-07 (12 at once: 2028).
    if points == 12:
        return timeline(entry(1, D(2025, 4, 7), 12, rs), reregistrations=reregistrations)
    return timeline(entry(1, D(2025, 2, 3), 5, rs), entry(2, D(2025, 3, 10), 4, rs),
                    entry(3, D(2025, 4, 7), points, rs), reregistrations=reregistrations)


@pytest.mark.parametrize("rs", ALL)
def test_reregistration_problem_before_and_on_the_bar(rs):
    t = terminated(rs)
    assert reregistration_problem(t, D(2025, 4, 7)) == "re-registration is barred until 2026-04-07"
    assert reregistration_problem(t, D(2026, 4, 6)) == "re-registration is barred until 2026-04-07"
    assert reregistration_problem(t, D(2026, 4, 7)) is None
    assert reregistration_problem(t, D(2026, 9, 1)) is None

    once = terminated(rs, points=12)
    assert reregistration_problem(once, D(2027, 4, 7)) == "re-registration is barred until 2028-04-07"
    assert reregistration_problem(once, D(2028, 4, 7)) is None


@pytest.mark.parametrize("rs", ALL)
def test_reregistration_after_the_bar_restores_active(rs):
    t = terminated(rs, reregistrations=[D(2026, 5, 4)])
    termination = only(t, TERMINATION)
    assert (termination.ends_on, termination.end_reason) == (D(2026, 5, 3), "re-registered")
    assert t.reregistrations == [D(2026, 5, 4)]
    s = evaluate(t, D(2026, 5, 3), RULESETS)
    assert (s.status, s.billing_allowed) == (TERMINATED, False)
    s = evaluate(t, D(2026, 5, 4), RULESETS)
    assert (s.status, s.billing_allowed, s.terminated_on, s.reregistration_barred_until, s.points) == (
        ACTIVE, True, None, None, 0)
    # Registered again: nothing to re-register from.
    assert reregistration_problem(t, D(2026, 6, 1)) == (
        "the practitioner is not terminated: there is nothing to re-register from")
    # The same termination as imposed: reconcile against the un-re-registered timeline is empty.
    # The same termination, now ended: a change of terms.
    assert reconcile(recorded=terminated(rs).sanctions, derived=t.sanctions) == ([], [termination], [])


@pytest.mark.parametrize("rs", ALL)
def test_reregistration_before_the_bar_has_no_effect(rs):
    t = terminated(rs, reregistrations=[D(2026, 3, 2)])
    assert only(t, TERMINATION).ends_on is None
    assert evaluate(t, D(2026, 3, 2), RULESETS).status == TERMINATED
    assert evaluate(t, D(2026, 9, 1), RULESETS).status == TERMINATED


@pytest.mark.parametrize("rs", ALL)
def test_reregistration_problem_when_not_terminated(rs):
    for t in (timeline(), timeline(entry(1, D(2025, 2, 3), 9, rs))):
        assert reregistration_problem(t, D(2026, 1, 1)) == (
            "the practitioner is not terminated: there is nothing to re-register from")


# ---------------------------------------------------------------- registration and emergencies

@pytest.mark.parametrize("rs", ALL)
def test_before_registration_not_registered(rs):
    t = timeline(entry(1, D(2025, 7, 1), 2, rs), registered_on=D(2025, 6, 1))
    s = evaluate(t, D(2025, 5, 31), RULESETS)
    assert (s.status, s.billing_allowed) == (NOT_REGISTERED, False)
    s = evaluate(t, D(2025, 6, 1), RULESETS)
    assert (s.status, s.billing_allowed) == (ACTIVE, True)


# (ruleset mapping variant, emergency allowed while suspended / terminated)
@pytest.mark.parametrize("rs", ALL)
@pytest.mark.parametrize("exempt", [True, False], ids=["bundled", "no-exemption"])
def test_emergency_care_during_sanctions(rs, exempt):
    rulesets = dict(RULESETS)
    if not exempt:
        rulesets[rs] = RULESETS[rs].model_copy(update={"emergency_exemption": False})
    t = timeline(entry(1, D(2025, 2, 3), 5, rs), entry(2, D(2025, 3, 10), 4, rs), entry(3, D(2025, 4, 7), 3, rs),
                 rulesets=rulesets)
    expected = [
        (D(2025, 3, 9), ACTIVE, True, True),
        (D(2025, 3, 10), SUSPENDED, False, exempt),
        (D(2025, 4, 7), TERMINATED, False, exempt),
    ]
    for day, status, billing, emergency in expected:
        s = evaluate(t, day, rulesets)
        assert (s.status, s.billing_allowed, s.emergency_allowed) == (status, billing, emergency), day


# ---------------------------------------------------------------- serialisation

@pytest.mark.parametrize("rs", ALL)
def test_json_round_trip_preserves_evaluation(rs):
    t = timeline(
        entry(1, D(2025, 9, 1), 6, rs),  # Tianjin warning
        entry(2, D(2025, 12, 1), 4, rs),  # 6 - 1 + 4 = 9: suspension from 2025-12-01
        entry(3, D(2026, 1, 12), 9, rs),  # 2026: 9, a second suspension (queued where the first runs)
        entry(4, D(2026, 2, 2), 3, rs),  # 2026: 12, termination
        repairs=[repair(10, D(2025, 9, 15), rs)],
        reregistrations=[D(2027, 2, 2)],
    )
    assert [(s.kind, s.starts_on, s.imposed_until, s.ends_on) for s in t.sanctions] == {
        NATIONAL: [
            (SUSPENSION, D(2025, 12, 1), D(2026, 1, 31), None),
            (SUSPENSION, D(2026, 2, 1), D(2026, 3, 31), D(2026, 2, 1)),
            (TERMINATION, D(2026, 2, 2), None, D(2027, 2, 1)),
        ],
        TIANJIN: [
            (WARNING, D(2025, 9, 1), D(2025, 12, 31), None),
            (SUSPENSION, D(2025, 12, 1), D(2026, 2, 28), D(2026, 2, 1)),
            (WARNING, D(2026, 1, 12), D(2026, 12, 31), None),  # 2026 reaches 6 too
            (SUSPENSION, D(2026, 3, 1), D(2026, 5, 31), D(2026, 2, 28)),
            (TERMINATION, D(2026, 2, 2), None, D(2027, 2, 1)),
        ],
        INNER_MONGOLIA: [
            (SUSPENSION, D(2025, 12, 1), D(2025, 12, 31), None),
            (SUSPENSION, D(2026, 1, 12), D(2026, 2, 11), D(2026, 2, 1)),
            (TERMINATION, D(2026, 2, 2), None, D(2027, 2, 1)),
        ],
    }[rs]
    data = json.loads(json.dumps(t.to_json()))
    back = Timeline.from_json(data)
    assert back == t
    assert back.to_json() == t.to_json()
    days = [D(2024, 12, 31), D(2025, 9, 1), D(2025, 9, 15), D(2025, 12, 1), D(2026, 1, 1), D(2026, 1, 12),
            D(2026, 2, 1), D(2026, 2, 2), D(2026, 3, 1), D(2027, 2, 1), D(2027, 2, 2), D(2027, 12, 31)]
    for day in days:
        assert evaluate(back, day, RULESETS) == evaluate(t, day, RULESETS), day
    assert evaluate(back, D(2024, 12, 31), RULESETS).status == NOT_REGISTERED
    assert evaluate(back, D(2026, 2, 2), RULESETS).status == TERMINATED
    assert evaluate(back, D(2027, 2, 2), RULESETS).status == ACTIVE


@pytest.mark.parametrize(("starts", "months", "last"), [
    (date(2025, 3, 10), 2, date(2025, 5, 9)),
    (date(2025, 1, 28), 1, date(2025, 2, 27)),
    (date(2025, 1, 29), 1, date(2025, 2, 28)),   # no 29 February in 2025: the month's last day
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),   # leap year
    (date(2025, 8, 31), 6, date(2026, 2, 28)),   # across the new year
    (date(2025, 12, 31), 2, date(2026, 2, 28)),
])
def test_suspension_months_at_month_ends(starts, months, last):
    assert months_last_day(starts, months) == last


# ---------------------------------------------------------------- the span of years (stored beside the timeline)


def test_years_of_an_empty_timeline_is_none():
    assert Timeline(registered_on=REGISTERED).years() is None
    assert timeline().years() is None


def test_years_span_points_and_sanctions():
    assert timeline(entry(1, D(2025, 3, 1), 4, NATIONAL)).years() == (2025, 2025)
    # a suspension from 1 December 2025 runs into 2026 (national: 2 months at 9)
    assert timeline(entry(1, D(2025, 12, 1), 9, NATIONAL)).years() == (2025, 2026)
    assert timeline(entry(1, D(2025, 3, 1), 12, NATIONAL)).years() == (2025, OPEN_ENDED)


def test_years_end_with_a_termination_that_ended():
    t = timeline(entry(1, D(2025, 3, 1), 12, NATIONAL), reregistrations=[D(2028, 3, 2)])
    assert t.years() == (2025, 2028)  # terminated until the day before re-registration
