"""Inputs that look valid but once crashed the service: each answers 422 naming the field, alike on
SQLite and PostgreSQL, and nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import practitioner_body

NUL = "\x00"


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()


def assert_refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]], response.text


@pytest.mark.parametrize(("field", "value"), [
    ("name", f"王{NUL}某"), ("id_number", f"15042819800101001{NUL}"),
])
def test_nul_in_a_registration_is_refused_and_nothing_is_stored(api, bureau, engine, field, value):
    response = api.put("/v1/practitioners/D150428000123", json=practitioner_body(**{field: value}), headers=bureau)
    assert_refused(response, f"body.{field}")
    assert count(engine, "practitioners") == 0


def test_nul_in_an_institution_name_deep_in_the_body_is_named(api, bureau, engine):
    body = practitioner_body(institutions=[{"code": "H15042800001", "name": f"医院{NUL}"}])
    assert_refused(api.put("/v1/practitioners/D150428000123", json=body, headers=bureau), "body.institutions.0.name")


def test_nul_in_a_case_ref_is_refused(scoring, engine):
    code = scoring.register()
    response = scoring.post(f"ref{NUL}", [{"practitioner": code, "violation_type": "UPCODING", "points": 9}])
    assert_refused(response, "body.case_ref")
    assert count(engine, "score_cases") == 0


def test_nul_in_a_referral_summary_is_refused(api, bureau, engine):
    from tests.referrals.conftest import referral_body

    response = api.post("/v1/referrals", json=referral_body(summary=f"挂证{NUL}线索"), headers=bureau)
    assert_refused(response, "body.summary")
    assert count(engine, "referrals") == 0


def test_nul_in_a_webhook_url_is_refused(api, bureau, engine):
    response = api.post("/v1/webhook-endpoints", headers=bureau,
                        json={"url": f"https://example.org/{NUL}hook", "event_types": ["standing.changed"]})
    assert_refused(response, "body.url")
    assert count(engine, "webhook_endpoints") == 0


def test_nul_in_a_query_parameter_is_refused(api, bureau):
    response = api.get("/v1/practitioners/D150428000123/standing?at=2025-01-01%00", headers=bureau)
    assert_refused(response, "query.at")


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(api, bureau, engine):
    response = api.put("/v1/practitioners/D150428000123", headers=bureau,
                       json=practitioner_body(name="王\\u0000某"))  # the characters backslash, u, 0, 0, 0, 0
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "王\\u0000某"


def test_a_ruleset_draft_nested_a_thousand_deep_is_a_422(api, make_key):
    admin = make_key("admin", "100000")
    draft = "x = " + "[" * 1000 + "]" * 1000 + "\n"
    response = api.post("/v1/rulesets/simulations", json={"draft": draft, "region": "150428", "year": 2025},
                        headers=admin)
    assert_refused(response, "body.draft")


def test_a_json_body_nested_a_thousand_deep_is_a_422(api, bureau):
    body = '{"a":' * 1000 + "1" + "}" * 1000
    response = api.post("/v1/standings/query", content=body, headers={**bureau, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
