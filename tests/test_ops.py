from sqlalchemy import create_engine

from app import migrate
from tests import dbutil


def test_healthz(api):
    assert api.get("/healthz").json() == {"status": "ok"}


def test_readyz_when_at_head(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["revision"] == sorted(migrate.head_revisions())


def test_readyz_reports_pending_migrations(api, monkeypatch):
    url = dbutil.create_database("pct_ready")
    try:
        engine = create_engine(url)
        monkeypatch.setattr("app.ops.router.get_engine", lambda: engine)
        response = api.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "migrations_pending"
        engine.dispose()
    finally:
        dbutil.drop_database(url)


def test_readyz_reports_unreachable_database(api, monkeypatch):
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setattr("app.ops.router.get_engine", lambda: engine)
    response = api.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_metrics_are_prometheus_text(api):
    api.get("/healthz")
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'http_requests_total{handler="/healthz"' in response.text
