"""Every error leaves as application/problem+json, never with a trace."""

from fastapi.testclient import TestClient

from app.main import create_app


def test_unknown_route_and_wrong_method(api):
    for response, status in ((api.get("/v1/nothing-here"), 404), (api.delete("/healthz"), 405)):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status


def test_malformed_json_is_422_not_500(api, bureau):
    response = api.put(
        "/v1/practitioners/D150428000123", content=b"{not json", headers={**bureau, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_unhandled_error_is_a_bare_500_problem():
    app = create_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: /etc/passwd line 3")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["status"] == 500
