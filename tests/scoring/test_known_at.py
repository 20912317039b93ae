"""The standing as the ledger stood at an instant (``known_at``): an auditor checks a claim paid
months ago against what the service knew when it was paid, not against reversals made since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlmodel import select

from app.kit.db import read_session
from app.kit.timeutil import local_date, utcnow
from app.scoring.models import LedgerRow

SUSPENDED_ON = "2025-03-20"  # in the suspension of the 9 points of 2025-03-10, two months long


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def history(scoring, api):
    """A person suspended by a case and cleared by its reversal, with the instants in between."""
    code = scoring.register()
    before_case = utcnow()
    entry = scoring.score(code, "s1", "2025-03-10", points=9, violation="UPCODING")
    after_case = utcnow()
    response = api.post(f"/v1/score-entries/{entry['id']}/reversal", json={"reason": "复议撤销"},
                        headers=scoring.headers)
    assert response.status_code == 201, response.text
    after_reversal = utcnow()
    with read_session() as session:
        reversed_at = session.exec(select(LedgerRow.created_at).where(LedgerRow.kind == "reversal")).one()
    return {"code": code, "before case": before_case, "after case": after_case, "reversed at": reversed_at,
            "after reversal": after_reversal}


def check(scoring, code, known_at, at=SUSPENDED_ON, headers=None):
    params = {"known_at": known_at} | ({"at": at} if at else {})
    return scoring.client.get(f"/v1/practitioners/{code}/standing", params=params, headers=headers or scoring.headers)


def test_the_check_answers_as_the_ledger_stood(scoring, history):
    code = history["code"]
    plain = scoring.standing(code, SUSPENDED_ON)
    assert plain["status"] == "active" and "known_at" not in plain  # the reversal is known now

    def known(instant):
        response = check(scoring, code, iso(instant))
        assert response.status_code == 200, response.text
        return response.json()

    assert known(history["before case"])["status"] == "active"
    then = known(history["after case"])
    assert (then["status"], then["points"], then["billing_allowed"]) == ("suspended", 9, False)
    assert then["suspended_until"] == "2025-05-09" and then["known_at"] == iso(history["after case"])
    # the reversal's own instant already knows it; a microsecond before does not
    assert known(history["reversed at"])["status"] == "active"
    assert known(history["reversed at"] - timedelta(microseconds=1))["status"] == "suspended"
    now = known(history["after reversal"])
    assert now.pop("known_at") == iso(history["after reversal"]) and now == plain
    # any offset names the same instant
    in_beijing = history["after case"].astimezone(timezone(timedelta(hours=8))).isoformat()
    known_in = check(scoring, code, in_beijing).json()
    assert known_in["status"] == "suspended" and known_in["known_at"] == iso(history["after case"])


def test_without_at_the_day_is_that_of_the_instant_in_shanghai(scoring, history):
    answer = check(scoring, history["code"], iso(history["after case"]), at=None).json()
    assert answer["at"] == local_date(history["after case"]).isoformat()


def test_the_batch_answers_as_the_ledger_stood(scoring, api, history, make_key):
    code = history["code"]
    later = scoring.register(code="D210402000002")  # not known when the case was recorded
    checker = make_key("checker", "210000")

    def batch(instant, headers=checker, **body):
        response = api.post("/v1/standings/query", headers=headers,
                            json={"codes": [code, later, "D210402000999"], "at": SUSPENDED_ON,
                                  "known_at": iso(instant), **body})
        assert response.status_code == 200, response.text
        return response.json()["results"]

    then = batch(history["after case"])
    assert [r["found"] for r in then] == [True, False, False]
    assert then[0]["standing"]["status"] == "suspended"
    assert then[0]["standing"]["known_at"] == iso(history["after case"])
    now = batch(utcnow())
    assert [r["found"] for r in now] == [True, True, False]
    assert [r["standing"]["status"] for r in now[:2]] == ["active", "active"]
    plain = api.post("/v1/standings/query", headers=checker, json={"codes": [code, later], "at": SUSPENDED_ON}).json()
    assert [{**r["standing"], "known_at": None} for r in plain["results"]] == [
        {**r["standing"], "known_at": None} for r in now[:2]]
    assert all("known_at" not in r["standing"] for r in plain["results"])
    # from another region: the same answers, as without known_at (checks are national)
    outside = batch(history["after case"], headers=make_key("checker", "150000"))
    assert [r["found"] for r in outside] == [True, False, False]


def test_a_person_registered_after_the_instant_was_not_known(scoring, history):
    assert check(scoring, history["code"], iso(history["before case"] - timedelta(hours=1))).status_code == 404
    assert check(scoring, "D210402000999", iso(history["after case"])).status_code == 404


def test_the_same_callers_may_ask(scoring, history, make_key):
    code, instant = history["code"], iso(history["after case"])
    assert check(scoring, code, instant, headers=make_key("checker", "210402")).status_code == 200
    assert check(scoring, code, instant, headers=make_key("checker", "150000")).status_code == 200  # national
    assert check(scoring, code, instant, headers=make_key("partner", "210402", "health")).status_code == 403
    assert check(scoring, code, instant, headers=make_key("admin", "100000")).status_code == 403
    assert scoring.client.get(f"/v1/practitioners/{code}/standing", params={"known_at": instant}).status_code == 401


BAD = ["2025-03-01", "2025-03-01T10:00:00", "yesterday", "1700000000", "9999-12-31T23:59:59-12:00",
       "0001-01-01T00:00:00+14:00", "2999-01-01T00:00:00Z", "2025-01-01T00:00:00" + "0" * 30 + "Z", ""]


@pytest.mark.parametrize("value", BAD)
def test_bad_instants_are_refused_naming_the_field(scoring, api, history, value):
    code = history["code"]
    single = check(scoring, code, value)
    assert single.status_code == 422, (value, single.text)
    assert single.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in single.json()["errors"]] == ["query.known_at"], value
    batch = api.post("/v1/standings/query", headers=scoring.headers, json={"codes": [code], "known_at": value})
    assert batch.status_code == 422, (value, batch.text)
    assert [e["field"] for e in batch.json()["errors"]] == ["body.known_at"], value


def test_known_at_given_twice_or_with_a_bad_at(scoring, history):
    url = f"/v1/practitioners/{history['code']}/standing"
    instant = iso(history["after case"])
    twice = scoring.client.get(url, params=[("known_at", instant), ("known_at", instant)], headers=scoring.headers)
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "query.known_at"
    bad_at = scoring.client.get(url, params={"known_at": instant, "at": "2025-03-01T10:00:00"},
                                headers=scoring.headers)
    assert bad_at.status_code == 422 and [e["field"] for e in bad_at.json()["errors"]] == ["query.at"]


def test_known_at_is_documented(api):
    document = api.get("/openapi.json").json()
    check_parameters = {p["name"]: p for p in document["paths"]["/v1/practitioners/{code}/standing"]["get"]["parameters"]}
    assert check_parameters["known_at"]["in"] == "query" and "ledger" in check_parameters["known_at"]["description"]
    assert "known_at" in document["components"]["schemas"]["StandingQuery"]["properties"]
    assert "known_at" in document["components"]["schemas"]["StandingOut"]["properties"]
