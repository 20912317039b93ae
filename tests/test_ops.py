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


def test_metrics_label_requests_by_route_template(api, make_key):
    headers = make_key("checker", "150000")
    for code in ("D150428000001", "D150428000002"):
        assert api.get(f"/v1/practitioners/{code}/standing", headers=headers).status_code == 404
    api.get("/no/such/path")
    text = api.get("/metrics").text
    counted = 'http_requests_total{handler="/v1/practitioners/{code}/standing",method="GET",status="4xx"} '
    line = next(line for line in text.splitlines() if line.startswith(counted))
    assert float(line.split()[-1]) >= 2
    assert 'http_requests_total{handler="none",method="GET",status="4xx"}' in text  # unmatched paths share one label
    assert "D150428000001" not in text  # never the concrete path: one series per route
    assert 'http_request_duration_seconds_bucket{handler="/v1/practitioners/{code}/standing",le="0.025",method="GET"}' in text
    assert 'handler="/metrics"' not in text


def test_outbox_metrics_registered_without_reading_the_database(monkeypatch):
    """Registering the outbox collector (at start-up) names its metrics without a scrape: no
    connection and no counting query before the server can answer /readyz."""
    from prometheus_client import CollectorRegistry

    from app.ops import metrics

    def unreachable():
        raise AssertionError("the database was read at registration")

    monkeypatch.setattr(metrics, "get_engine", unreachable)
    collector = metrics.OutboxCollector()
    CollectorRegistry(auto_describe=True).register(collector)
    described = {family.name for family in collector.describe()}
    assert described == {"app_database_up", "app_outbox_backlog", "app_webhook_deliveries_failed"}
    # what a scrape then yields carries the same names (here the database is "down")
    assert {family.name for family in collector.collect()} <= described


def test_the_garbage_collector_runs_again_once_the_app_is_built():
    """app.main turns the collector off while it imports and builds the app (start-up time), and on
    again with what it built frozen."""
    import gc

    import app.main  # noqa: F401

    assert gc.isenabled()
    assert gc.get_freeze_count() > 50_000
