"""One rule for every date the API takes: a calendar date ``YYYY-MM-DD`` is that date; an ISO 8601
instant with an offset (or Z) is its date in the service's zone (Asia/Shanghai); an instant without
an offset is ambiguous and refused. Instants the calendar cannot hold once moved to UTC or to
Shanghai (the last second of 9999 at -12:00) are refused too, with a 422 naming the field, never a
500. Fields that take an instant (the audit's and a webhook recovery's ``since``) take one with an
offset and nothing else.
"""

from __future__ import annotations

import pytest

from tests.conftest import practitioner_body

# Beyond the calendar in UTC, and (the last) only once moved to Shanghai: a date, not an instant, is refused.
EDGES = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31T20:00:00Z"]
NO_OFFSET = ["2025-03-01T10:00:00", "2025-03-01T00:00:00", "2025-03-01 00:00"]
MALFORMED = ["2025-3-1", "2025-02-30", "2025-W10-1", "20250301", "yesterday", "2025-03-01T25:00:00+08:00"]


def _errors(response) -> list[str]:
    assert response.status_code == 422, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


def test_a_decision_instant_counts_on_its_date_in_shanghai(scoring):
    code = scoring.register()
    cases = {
        "2025-01-01T00:00:00+09:00": "2024-12-31",  # 23:00 on 31 December in Beijing
        "2024-12-31T23:30:00+08:00": "2024-12-31",
        "2024-12-31T16:30:00Z": "2025-01-01",  # 00:30 on 1 January in Beijing
        "2024-12-31": "2024-12-31",
    }
    for n, (given, day) in enumerate(cases.items()):
        response = scoring.post(f"tz{n}", [{"practitioner": code, "violation_type": "RECORDS-MISSING", "points": 1}],
                                day=given)
        assert response.status_code == 201, (given, response.text)
        assert response.json()["decision_date"] == day, given
        assert response.json()["entries"][0]["year"] == int(day[:4]), given
    assert scoring.standing(code, "2024-12-31")["points"] == 3
    assert scoring.standing(code, "2025-01-01")["points"] == 1


@pytest.mark.parametrize("value", NO_OFFSET + MALFORMED)
def test_instants_without_offset_and_malformed_dates_are_refused_in_a_body(scoring, value):
    code = scoring.register()
    response = scoring.post("x", [{"practitioner": code, "violation_type": "RECORDS-MISSING", "points": 1}], day=value)
    assert _errors(response) == ["body.decision_date"], value


@pytest.mark.parametrize("value", NO_OFFSET + MALFORMED)
def test_instants_without_offset_and_malformed_dates_are_refused_by_the_check(scoring, api, value):
    code = scoring.register()
    single = api.get(f"/v1/practitioners/{code}/standing", params={"at": value}, headers=scoring.headers)
    assert _errors(single) == ["query.at"], value
    batch = api.post("/v1/standings/query", json={"codes": [code], "at": value}, headers=scoring.headers)
    assert _errors(batch) == ["body.at"], value


def _bodies(scoring) -> dict:
    """Per place that takes a date or an instant: (method, url, body or params for a value, field)."""
    case = scoring.case_body("edge", [{"practitioner": "D210402000001", "violation_type": "RECORDS-MISSING",
                                       "points": 1}])
    return {
        "standing at": ("GET", "/v1/practitioners/D210402000001/standing", lambda v: {"params": {"at": v}},
                        "query.at"),
        "batch at": ("POST", "/v1/standings/query", lambda v: {"json": {"codes": ["D210402000001"], "at": v}},
                     "body.at"),
        "case decision_date": ("POST", "/v1/score-cases", lambda v: {"json": {**case, "decision_date": v}},
                               "body.decision_date"),
        "case notified_on": ("POST", "/v1/score-cases",
                             lambda v: {"json": {**case, "procedure": "notify", "notified_on": v}}, "body.notified_on"),
        "repair occurred_on": ("POST", "/v1/practitioners/D210402000001/repairs",
                               lambda v: {"json": {"activity": "training", "occurred_on": v, "reference": "r"}},
                               "body.occurred_on"),
        "registration": ("POST", "/v1/practitioners/D210402000001/registrations",
                         lambda v: {"json": {"registered_on": v}}, "body.registered_on"),
        "practitioner registered_on": ("PUT", "/v1/practitioners/D210402000001",
                                       lambda v: {"json": practitioner_body(registered_on=v)}, "body.registered_on"),
        "violation types on": ("GET", "/v1/violation-types", lambda v: {"params": {"on": v}}, "query.on"),
        "referrals as_of": ("GET", "/v1/referrals", lambda v: {"params": {"as_of": v}}, "query.as_of"),
        "referral stats as_of": ("GET", "/v1/referrals/stats", lambda v: {"params": {"as_of": v, "year": 2025}},
                                 "query.as_of"),
        "notice as_of": ("POST", "/v1/notices", lambda v: {"json": {"year": 2025, "region": "210402", "as_of": v}},
                         "body.as_of"),
        "audit since": ("GET", "/v1/audit", lambda v: {"params": {"since": v}}, "query.since"),
        "webhook recover since": ("POST", "/v1/webhook-endpoints/1/recover", lambda v: {"json": {"since": v}},
                                  "body.since"),
    }


PLACES = ["standing at", "batch at", "case decision_date", "case notified_on", "repair occurred_on", "registration",
          "practitioner registered_on", "violation types on", "referrals as_of", "referral stats as_of", "notice as_of",
          "audit since", "webhook recover since"]
INSTANT_PLACES = ["audit since", "webhook recover since"]


# The last edge is a UTC instant the calendar holds: where an instant is taken, it is taken.
@pytest.mark.parametrize(("place", "value"), [(p, v) for p in PLACES for v in EDGES
                                              if not (p in INSTANT_PLACES and v == EDGES[-1])])
def test_instants_beyond_the_calendar_are_a_422_naming_the_field(scoring, api, place, value):
    scoring.register()
    method, url, given, field = _bodies(scoring)[place]
    response = api.request(method, url, headers=scoring.headers, **given(value))
    assert field in _errors(response), (place, value)


@pytest.mark.parametrize("place", INSTANT_PLACES)
@pytest.mark.parametrize("value", NO_OFFSET + ["2025-03-01"])
def test_instant_fields_take_an_instant_with_offset_only(scoring, api, place, value):
    method, url, given, field = _bodies(scoring)[place]
    response = api.request(method, url, headers=scoring.headers, **given(value))
    assert field in _errors(response), (place, value)


def test_the_audit_reads_since_in_any_offset(api, make_key, register):
    admin = make_key("admin", "100000")
    register()
    for since, found in (("2000-01-01T00:00:00+08:00", True), ("2999-01-01T00:00:00-05:00", False)):
        response = api.get("/v1/audit", params={"since": since}, headers=admin)
        assert response.status_code == 200, response.text
        assert bool(response.json()["items"]) is found, since


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
def test_the_first_and_last_calendar_dates_are_answered_not_a_500(scoring, api, value):
    code = scoring.register()
    single = api.get(f"/v1/practitioners/{code}/standing", params={"at": value}, headers=scoring.headers)
    assert single.status_code in (200, 422), single.text
    batch = api.post("/v1/standings/query", json={"codes": [code], "at": value}, headers=scoring.headers)
    assert batch.status_code in (200, 422), batch.text
    assert api.get("/v1/violation-types", params={"on": value}, headers=scoring.headers).status_code in (200, 404, 422)
