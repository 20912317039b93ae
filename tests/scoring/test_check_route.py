"""The standing check is served by a plain handler (app/kit/routes.py ``DirectRoute``), not by
FastAPI's parameter machinery: these hold it to the answers an ordinary route gives, in the same
order (the caller, then the code, then the query), in both languages."""

from __future__ import annotations

import pytest

CHECK = "/v1/practitioners/{code}/standing"


@pytest.fixture
def checker(make_key):
    return make_key("checker", "100000")


@pytest.fixture
def code(scoring):
    return scoring.register()


def test_no_key_is_401_before_the_code_is_looked_at(api):
    response = api.get(CHECK.format(code="not-a-code"))
    assert response.status_code == 401
    assert response.json()["type"] == "unauthenticated"


def test_a_role_without_the_permission_is_403(api, make_key, code):
    partner = make_key("partner", "150428", "health")
    response = api.get(CHECK.format(code=code), headers=partner)
    assert response.status_code == 403
    assert response.json()["type"] == "forbidden"


@pytest.mark.parametrize("bad", ["d150428000123", "D15042800012", "D1504280001234", "XYZ"])
def test_a_malformed_code_is_422_naming_the_path(api, checker, bad):
    response = api.get(CHECK.format(code=bad), headers=checker)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "validation-error"
    assert [e["field"] for e in problem["errors"]] == ["path.code"]


def test_an_unregistered_code_is_404_in_the_callers_language(api, checker):
    english = api.get(CHECK.format(code="D150428999999"), headers=checker)
    chinese = api.get(CHECK.format(code="D150428999999"), headers={**checker, "Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 404
    assert english.json()["type"] == chinese.json()["type"] == "not-found"
    assert english.headers["content-language"] == "en" and chinese.headers["content-language"] == "zh-CN"
    assert english.json()["detail"] != chinese.json()["detail"]


def test_a_registered_code_is_answered_with_the_documented_shape(api, checker, code):
    response = api.get(CHECK.format(code=code), headers=checker, params={"at": "2025-06-01"})
    assert response.status_code == 200
    answer = response.json()
    assert answer["code"] == code and answer["at"] == "2025-06-01" and answer["billing_allowed"] is True
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(("query", "field"), [
    ("at=2025-06-01&at=2025-07-01", "query.at"),  # one value only
    ("regoin=150428", "query.regoin"),  # not a parameter of the check
    ("at=" + "9" * 41, "query.at"),  # over the documented length
    ("at=2025-13-01", "query.at"),  # not a date
])
def test_query_refusals_name_the_field(api, checker, code, query, field):
    response = api.get(f"{CHECK.format(code=code)}?{query}", headers=checker)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_another_method_is_405_naming_get(api, checker, code):
    response = api.post(CHECK.format(code=code), headers=checker)
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]


def test_head_is_answered_as_on_any_other_get_route(api, checker, code):
    check = api.head(CHECK.format(code=code), headers=checker)
    other = api.head("/v1/rulesets", headers=checker)  # an ordinary FastAPI route
    assert check.status_code == other.status_code
    assert check.headers.get("allow") == other.headers.get("allow")
