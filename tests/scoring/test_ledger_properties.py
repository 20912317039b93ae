"""Invariants of the service on random ledgers, through the API, on SQLite and PostgreSQL.

Random cases (back-dated among them), reversals and repairs for one practitioner; afterwards the
stored standings row must be the timeline derived from the ledger, and every sanction the ledger
recorded must have been announced in exactly one answer and one ``standing.changed`` event.
"""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import select

from app.kit.db import write_session
from app.practitioners.models import Practitioner
from app.scoring import catalog, ledger, standing
from app.scoring.models import StandingRecord
from app.scoring.service import facts_from_rows
from tests.shared_fixtures import violation_with

CODES = (f"D210402{n:06d}" for n in itertools.count(100))
START = date(2025, 1, 1)

operations = st.lists(st.one_of(
    st.tuples(st.just("case"), st.integers(0, 500), st.integers(1, 12)),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
    st.tuples(st.just("repair"), st.integers(0, 500)),
), min_size=1, max_size=10)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ops=operations)
def test_the_stored_standing_is_the_ledgers_and_every_sanction_is_announced_once(scoring, api, engine, ops):
    code = scoring.register(code=next(CODES))
    entries, announced = [], []
    for n, op in enumerate(ops):
        if op[0] == "case":
            _kind, offset, points = op
            response = scoring.post(f"{code}-{n}", [{"practitioner": code, "points": points,
                                                     "violation_type": violation_with(points, "national-2024")}],
                                    day=(START + timedelta(days=offset)).isoformat())
            assert response.status_code == 201, response.text
            answer = response.json()
            entries.append(answer["entries"][0]["id"])
            announced += [s["id"] for o in answer["outcomes"] for s in o["sanctions_created"]]
        elif op[0] == "reverse" and entries:
            entry_id = entries[op[1] % len(entries)]
            response = api.post(f"/v1/score-entries/{entry_id}/reversal", json={"reason": "复核撤销"},
                                headers=scoring.headers)
            assert response.status_code in (200, 201), response.text
            if response.status_code == 201:
                announced += [s["id"] for s in response.json()["sanctions_created"]]
        elif op[0] == "repair":
            response = api.post(f"/v1/practitioners/{code}/repairs", headers=scoring.headers, json={
                "activity": "policy_training", "occurred_on": (START + timedelta(days=op[1])).isoformat(),
                "reference": f"{code}-{n}"})
            assert response.status_code in (201, 422), response.text
            if response.status_code == 201:
                announced += [s["id"] for s in response.json()["sanctions_created"]]

    with write_session() as session:
        practitioner = session.exec(select(Practitioner).where(Practitioner.code == code)).one()
        rows = ledger.rows_of(session, practitioner.id)
        derived = standing.derive(facts_from_rows(practitioner.registered_on, rows), catalog.rulesets(session))
        stored = session.get(StandingRecord, practitioner.id)
        recorded = [r.id for r in rows if r.kind == "sanction"]
        with engine.connect() as conn:
            events = [json.loads(p) for (p,) in conn.execute(
                text("SELECT payload FROM events WHERE type = 'standing.changed' AND subject = :code"), {"code": code})]
    if stored is None:  # nothing was ever written for them
        assert derived.to_json() == standing.Timeline(registered_on=derived.registered_on).to_json()
    else:
        assert json.loads(stored.timeline) == derived.to_json()
        assert (stored.first_year, stored.last_year) == (derived.years() or (None, None))
    in_events = [s["id"] for e in events for s in e["sanctions_created"]]
    assert sorted(announced) == sorted(in_events) == sorted(recorded)


cases = st.lists(st.tuples(st.integers(0, 500), st.integers(1, 12)), min_size=1, max_size=6)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(facts=cases, order=st.randoms(use_true_random=False))
def test_the_same_cases_in_another_order_give_the_same_standing_every_day(scoring, api, facts, order):
    first, second = scoring.register(code=next(CODES)), scoring.register(code=next(CODES))
    shuffled = list(facts)
    order.shuffle(shuffled)
    for code, sequence in ((first, facts), (second, shuffled)):
        for n, (offset, points) in enumerate(sequence):
            response = scoring.post(f"{code}-{n}", [{"practitioner": code, "points": points,
                                                     "violation_type": violation_with(points, "national-2024")}],
                                    day=(START + timedelta(days=offset)).isoformat())
            assert response.status_code == 201, response.text
    for offset in range(0, 800, 9):
        day = (START + timedelta(days=offset)).isoformat()
        answers = api.post("/v1/standings/query", json={"codes": [first, second], "at": day},
                           headers=scoring.headers).json()["results"]
        a, b = ({k: v for k, v in r["standing"].items() if k != "code"} for r in answers)
        assert a == b, day
