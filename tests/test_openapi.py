"""The OpenAPI document declares the answers routes really give, and the bugs the fuzzing found
stay fixed: out-of-range ids, numbers taken for dates, 405 naming too few methods, a database
outage answered with a bare 500."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from app.kit.paging import MAX_ID
from app.main import create_app


@pytest.fixture(scope="module")
def document(app):
    return app.openapi()


def _codes(document, path: str, method: str) -> set[str]:
    return set(document["paths"][path][method]["responses"])


def test_common_answers_follow_from_each_routes_dependencies(document):
    # checker and bureau may check a standing: 403 is real (admin, partner), and so are 404 and 429
    assert _codes(document, "/v1/practitioners/{code}/standing", "get") == {
        "200", "401", "403", "404", "422", "429", "503"}
    # every role may read the rulesets: no 403; no parameters: no 422
    assert _codes(document, "/v1/rulesets", "get") == {"200", "401", "429", "503"}
    # a body: 400 (not UTF-8) and 413 (too large)
    assert {"400", "413"} <= _codes(document, "/v1/score-cases", "post")
    # published notices need no key
    assert _codes(document, "/v1/notices", "get") == {"200", "422", "503"}
    assert "Retry-After" in document["paths"]["/v1/rulesets"]["get"]["responses"]["429"]["headers"]


def test_validation_problems_are_documented_as_they_are_written(document, api, bureau):
    field = document["components"]["schemas"]["ValidationError"]
    assert set(field["required"]) == {"field", "message", "type"}
    problem = api.get("/v1/practitioners", params={"limit": 0}, headers=bureau).json()
    assert set(problem["errors"][0]) == {"field", "message", "type"}


@pytest.mark.parametrize("url", [
    f"/v1/score-cases/{MAX_ID + 1}",
    f"/v1/score-cases/{2**64}",  # SQLite cannot bind it at all: once a 500
])
def test_ids_beyond_any_row_are_refused_as_input(api, bureau, url):
    response = api.get(url, headers=bureau)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.case_id"


@pytest.mark.parametrize("cursor", [str(2**64), "²"])  # a digit to str.isdigit, not to int()
def test_cursors_beyond_any_row_are_refused(api, bureau, cursor):
    response = api.get("/v1/score-proposals", params={"cursor": cursor}, headers=bureau)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.cursor"


@pytest.mark.parametrize(("url", "params"), [
    ("/v1/audit", {"since": "0.5"}),  # once read as Unix seconds
    ("/v1/referrals", {"as_of": "0"}),
])
def test_numbers_are_not_dates(api, bureau, url, params):
    response = api.get(url, params=params, headers=bureau)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == f"query.{next(iter(params))}"


def test_405_names_every_method_of_the_resource(api, bureau):
    assert api.delete("/v1/practitioners/D150428000123").headers["Allow"] == "GET, PUT"
    # "search" is a concrete path, not a code: only POST means something there (PUT and GET would
    # otherwise reach /{code} and fail as a malformed code)
    for method, headers in (("PUT", bureau), ("GET", bureau), ("DELETE", {})):
        response = api.request(method, "/v1/practitioners/search", headers=headers)
        assert response.status_code == 405 and response.headers["Allow"] == "POST", (method, response.text)
        assert response.json()["type"] == "http-method-not-allowed"
    # a malformed code is still a 422 naming it
    response = api.put("/v1/practitioners/searching", json={}, headers=bureau)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "path.code"


def test_a_database_outage_is_503_with_retry_after(api, bureau, monkeypatch, caplog):
    assert api.get("/v1/rulesets", headers=bureau).status_code == 200  # the key is now remembered
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=True)
    monkeypatch.setattr("app.kit.db.get_engine", lambda: unreachable)
    with caplog.at_level(logging.WARNING, logger="app"):
        response = api.get("/v1/rulesets", headers=bureau)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "1"
    assert response.json()["type"] == "database-unavailable"
    # logged as what it is, an outage: one warning naming the driver's error, no traceback
    [record] = [r for r in caplog.records if r.name == "app"]
    assert (record.levelname, record.exc_info, record.exc_text) == ("WARNING", None, None)
    assert record.getMessage() == "Database unavailable: OperationalError"


def test_an_unexpected_error_is_still_logged_with_its_traceback(caplog):
    app = create_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.WARNING, logger="app"):
        assert client.get("/boom").status_code == 500
    [record] = [r for r in caplog.records if r.name == "app"]
    # the traceback travels as (redacted) text: app/kit/observability.py's RedactingFilter
    assert record.levelname == "ERROR" and "RuntimeError: a bug" in record.exc_text


def test_a_query_parameter_given_twice_is_refused_not_silently_the_last(api, bureau):
    response = api.get("/v1/score-proposals?cursor=5&cursor=9", headers=bureau)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]
    # a parameter the route does not take is refused too, by name (tests/test_limits.py)
    unknown = api.get("/v1/score-proposals?utm=a&utm=b", headers=bureau)
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["query.utm"]


def test_the_webhooks_are_declared_with_the_document_not_at_start_up():
    """The document's webhooks section is documentation only: start-up does not build it (its
    payload models and receiving routes), the first document does, once."""
    app = create_app()
    assert app.webhooks.routes == []
    first = app.openapi()
    declared = len(app.webhooks.routes)
    assert declared > 0 and set(first["webhooks"]) == {route.path for route in app.webhooks.routes}
    assert app.openapi() is first and len(app.webhooks.routes) == declared
