"""The standing check's own read path (app/scoring/checks.py, app/kit/hotread.py) against the ledger.

The check reads stored rows through a connection of its own and answers people with nothing in
their timeline without parsing it; these tests hold its answers to what the ledger says, and its
freshness to what other connections and processes commit.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from app.kit.db import read_session
from app.kit.timeutil import parse_instant_or_date
from app.practitioners.models import Practitioner
from app.scoring import catalog, ledger
from app.scoring.schemas import StandingOut
from app.scoring.service import facts_from_rows, standing_out
from app.scoring.standing import OPEN_ENDED, derive
from tests.shared_fixtures import violation_with

DAYS = ["2023-12-31", "2024-06-01", "2025-03-01", "2025-03-10", "2025-06-30", "2025-12-31T16:30:00Z", "2026-02-01",
        "2027-03-01"]


def from_the_ledger(code: str, at: str) -> dict:
    """The answer computed the slow way: every ledger row of the person, derived afresh."""
    with read_session() as session:
        practitioner = session.exec(select(Practitioner).where(Practitioner.code == code)).one()
        rulesets = catalog.rulesets(session)
        timeline = derive(facts_from_rows(practitioner.registered_on, ledger.rows_of(session, practitioner.id)), rulesets)
        return standing_out(practitioner, timeline, parse_instant_or_date(at), rulesets).model_dump(mode="json")


@pytest.fixture
def people(scoring, api):
    """One person per kind of answer, each in a region of its own ruleset where it matters."""
    made = {
        "never scored": scoring.register(code="D210402000001"),
        "registered later": scoring.register(code="D210402000002", registered_on="2025-03-05"),
        "points": scoring.register(code="D210402000003"),
        "suspended": scoring.register(code="D210402000004"),
        "terminated": scoring.register(code="D210402000005"),
        "reversed away": scoring.register(code="D210402000006"),
        "warned": scoring.register("tianjin-2024", code="D120101000007"),
        "inner mongolia": scoring.register("inner-mongolia-2025", code="D150428000008"),
    }
    scoring.score(made["points"], "p1", "2025-03-01", points=4)
    scoring.score(made["suspended"], "s1", "2025-03-10", points=9, violation="UPCODING")
    scoring.score(made["terminated"], "t1", "2025-03-01", points=12, violation="FRAUD-IMPERSONATION")
    gone = scoring.score(made["reversed away"], "r1", "2025-03-01", points=5)
    response = api.post(f"/v1/score-entries/{gone['id']}/reversal", json={"reason": "复议撤销"}, headers=scoring.headers)
    assert response.status_code == 201, response.text
    scoring.score(made["warned"], "w1", "2025-03-01", points=6, violation=violation_with(6, "tianjin-2024"),
                  ruleset="tianjin-2024")
    scoring.score(made["inner mongolia"], "m1", "2025-06-02", points=9, violation="FRAUD-IMPERSONATION",
                  ruleset="inner-mongolia-2025")
    return made


def test_every_answer_is_what_the_ledger_says(scoring, people):
    for kind, code in people.items():
        for at in DAYS:
            answer = scoring.standing(code, at)
            assert answer == from_the_ledger(code, at), (kind, at)
            StandingOut.model_validate(answer)  # the documented shape, field for field
    # the cases above cover each status
    statuses = {scoring.standing(code, at)["status"] for code in people.values() for at in ("2025-03-04", "2025-03-10")}
    assert statuses == {"active", "not_registered", "suspended", "terminated"}
    assert scoring.standing(people["warned"], "2025-03-10")["focused_supervision"] is True


def test_the_batch_query_answers_like_single_checks(scoring, api, people, make_key):
    codes = [*people.values(), "D210402000999", people["points"]]  # an unknown code and a repeat
    for at in DAYS:
        response = api.post("/v1/standings/query", json={"codes": codes, "at": at}, headers=scoring.headers)
        assert response.status_code == 200
        results = response.json()["results"]
        assert [r["code"] for r in results] == codes
        for result in results:
            if result["code"] == "D210402000999":
                assert result == {"code": "D210402000999", "found": False, "standing": None}
            else:
                assert result["found"] is True
                assert result["standing"] == scoring.standing(result["code"], at), (result["code"], at)
    # a checker of another province finds everyone registered, with the same answers
    tianjin = make_key("checker", "120000")
    results = api.post("/v1/standings/query", json={"codes": codes, "at": DAYS[0]}, headers=tianjin).json()["results"]
    assert [r["code"] for r in results if not r["found"]] == ["D210402000999"]
    assert [r["standing"] for r in results if r["found"]] == [scoring.standing(c, DAYS[0]) for c in codes if c != "D210402000999"]


def test_stored_year_spans(scoring, people, engine):
    with engine.connect() as conn:
        spans = dict(conn.execute(text(
            "SELECT p.code, s.first_year || '-' || s.last_year FROM practitioners p "
            "LEFT JOIN standings s ON s.practitioner_id = p.id")).all())
    assert spans[people["never scored"]] is None
    assert spans[people["points"]] == "2025-2025"
    assert spans[people["suspended"]] == "2025-2025"
    assert spans[people["terminated"]] == f"2025-{OPEN_ENDED}"
    assert spans[people["reversed away"]] is None  # a row, but nothing left in it


def test_a_score_committed_elsewhere_is_seen_by_the_next_check(live_server, scoring, clock):
    """The live server answers checks on connections of its own event loop, the test client writes on
    another: nothing is cached between them."""
    clock.set("2025-06-01")
    code = scoring.register()

    def check() -> dict:
        response = httpx.get(f"{live_server}/v1/practitioners/{code}/standing", params={"at": "2025-06-01"},
                             headers=scoring.headers)
        assert response.status_code == 200, response.text
        return response.json()

    assert check()["points"] == 0
    entry = scoring.score(code, "v1", "2025-05-01", points=9, violation="UPCODING")
    assert check()["status"] == "suspended"
    scoring.client.post(f"/v1/score-entries/{entry['id']}/reversal", json={"reason": "x"}, headers=scoring.headers)
    assert (check()["status"], check()["points"]) == ("active", 0)


def test_a_dropped_connection_is_replaced(live_server, scoring, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server side to drop the connection")
    code = scoring.register()
    url = f"{live_server}/v1/practitioners/{code}/standing"
    for _ in range(8):  # open every connection of the live server's loop
        assert httpx.get(url, headers=scoring.headers).status_code == 200
    with engine.begin() as conn:
        dropped = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'SELECT p.code%'")).scalar()
    assert dropped >= 1
    for _ in range(8):
        assert httpx.get(url, headers=scoring.headers).status_code == 200
