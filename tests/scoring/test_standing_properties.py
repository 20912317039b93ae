"""Invariants of the pure timeline, on random ledgers under every bundled ruleset.

The examples in test_standing.py pin dates; these pin the rules a bureau relies on whatever the
facts: more points never make a day more lenient, a reversal or a repair never makes it
stricter, and the answer for a day does not depend on the order the facts were recorded in. CI runs 150 random
ledgers per rule and ruleset; APP_PROPERTY_EXAMPLES=1500 searches further (about 8 minutes).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.scoring.rulesets import load_rulesets
from app.scoring.standing import ACTIVE, SUSPENDED, TERMINATED, Entry, Facts, Repair, derive, evaluate

# Pure or database-independent: the PostgreSQL pass of CI skips this module (conftest.py).
pytestmark = pytest.mark.database_independent

BUNDLED = {r.id: r for r in load_rulesets()}
# Each bundled ruleset, and the national one with later scores served after a running suspension.
_national = BUNDLED["national-2024"]
STACKED = _national.model_copy(update={
    "id": "national-stacked", "suspension": _national.suspension.model_copy(update={"later_scores": "stack"})})
RULESETS = {**BUNDLED, STACKED.id: STACKED}
REGISTERED = date(2025, 1, 1)
START, DAYS = date(2025, 1, 1), 730  # two calendar years, so suspensions cross 1 January
PROBES = [START + timedelta(days=n) for n in range(0, DAYS + 400, 3)]
RANK = {ACTIVE: 0, SUSPENDED: 1, TERMINATED: 2}

SETTINGS = settings(max_examples=int(__import__("os").environ.get("APP_PROPERTY_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def strictness(timeline, day: date) -> tuple[int, bool]:
    s = evaluate(timeline, day, RULESETS)
    return RANK[s.status], s.focused_supervision


def at_least_as_strict(stricter, lenient) -> list[date]:
    """The probe days on which ``stricter`` is in fact more lenient than ``lenient``."""
    return [d for d in PROBES if strictness(stricter, d) < strictness(lenient, d)]


@st.composite
def ledgers(draw, ruleset: str):
    rules = RULESETS[ruleset]
    n = draw(st.integers(1, 8))
    entries = []
    for i in range(n):
        months = draw(st.none() | st.integers(rules.suspension.min_months, rules.suspension.max_months))
        entries.append(Entry(
            id=i + 1, case_id=draw(st.integers(1, 4)), on=START + timedelta(days=draw(st.integers(0, DAYS - 1))),
            points=draw(st.integers(1, 12)), ruleset_id=ruleset, suspension_months=months,
        ))
    repairs = [
        Repair(id=100 + i, on=START + timedelta(days=draw(st.integers(0, DAYS - 1))),
               points=rules.repair.points_per_activity, ruleset_id=ruleset)
        for i in range(draw(st.integers(0, 4)))
    ]
    # Stacked suspensions can outlast a re-registration bar; a termination then ends them for good.
    stacked = rules.suspension.later_scores == "stack"
    reregistrations = sorted(START + timedelta(days=draw(st.integers(365, DAYS + 365)))
                             for _ in range(draw(st.integers(0, 0 if stacked else 1))))
    return Facts(REGISTERED, tuple(entries), tuple(repairs), tuple(reregistrations))


def with_entry(facts: Facts, entry: Entry) -> Facts:
    return replace(facts, entries=(*facts.entries, entry))


ALL = sorted(RULESETS)


@pytest.mark.parametrize("ruleset", ALL)
@SETTINGS
@given(data=st.data())
def test_more_points_never_make_a_day_more_lenient(ruleset, data):
    facts = data.draw(ledgers(ruleset))
    extra = Entry(id=50, case_id=data.draw(st.integers(1, 5)),
                  on=START + timedelta(days=data.draw(st.integers(0, DAYS - 1))),
                  points=data.draw(st.integers(1, 12)), ruleset_id=ruleset)
    before, after = derive(facts, RULESETS), derive(with_entry(facts, extra), RULESETS)
    assert at_least_as_strict(after, before) == []


@pytest.mark.parametrize("ruleset", ALL)
@SETTINGS
@given(data=st.data())
def test_a_reversal_never_makes_a_day_stricter(ruleset, data):
    facts = data.draw(ledgers(ruleset))
    gone = data.draw(st.sampled_from(facts.entries))
    reversed_ = replace(facts, entries=tuple(e for e in facts.entries if e is not gone))
    assert at_least_as_strict(derive(facts, RULESETS), derive(reversed_, RULESETS)) == []


@pytest.mark.parametrize("ruleset", ALL)
@SETTINGS
@given(data=st.data())
def test_a_repair_never_makes_a_day_stricter(ruleset, data):
    facts = data.draw(ledgers(ruleset))
    repair = Repair(id=150, on=START + timedelta(days=data.draw(st.integers(0, DAYS - 1))),
                    points=RULESETS[ruleset].repair.points_per_activity, ruleset_id=ruleset)
    repaired = replace(facts, repairs=(*facts.repairs, repair))
    assert at_least_as_strict(derive(facts, RULESETS), derive(repaired, RULESETS)) == []


@pytest.mark.parametrize("ruleset", ALL)
@SETTINGS
@given(data=st.data())
def test_the_order_facts_arrive_in_does_not_change_any_day(ruleset, data):
    facts = data.draw(ledgers(ruleset))
    # Recorded in another order: the same facts under other ids.
    order = data.draw(st.permutations(range(len(facts.entries))))
    renumbered = tuple(replace(facts.entries[j], id=i + 1) for i, j in enumerate(order))
    shuffled = replace(facts, entries=renumbered, repairs=tuple(random.Random(0).sample(facts.repairs, len(facts.repairs))))
    a, b = derive(facts, RULESETS), derive(shuffled, RULESETS)
    assert [evaluate(a, d, RULESETS) for d in PROBES] == [evaluate(b, d, RULESETS) for d in PROBES]
