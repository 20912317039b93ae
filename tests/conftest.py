from __future__ import annotations

import json
import os
import warnings

import pytest

from tests import dbutil

# One database per test run, created before the app reads its settings.
_DATABASE_URL = dbutil.create_database()
os.environ["APP_DATABASE_URL"] = _DATABASE_URL
os.environ["APP_ENVIRONMENT"] = "test"
os.environ.setdefault("APP_ID_ENCRYPTION_KEY", "test-secret-for-the-suite-only-0123456789")
# Checkpoints are signed as in production (base64 of "suite-only ledger signing key 01");
# tests/scoring/test_ledger_anchor.py takes it away or swaps it where it checks that.
os.environ.setdefault("APP_LEDGER_SIGNING_KEY", "c3VpdGUtb25seSBsZWRnZXIgc2lnbmluZyBrZXkgMDE=")
# Tests drive webhook delivery themselves (with their own clocks); one test turns this on.
os.environ["APP_WEBHOOK_EMBEDDED_WORKER"] = "false"
# Tests send far faster than any client; tests/test_limits.py sets the limits it checks.
os.environ["APP_RATE_LIMITS"] = json.dumps(dict.fromkeys(("bureau", "partner", "checker", "admin"), "10000/second"))

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import migrate, ratelimit  # noqa: E402
from app.auth import service as client_service  # noqa: E402
from app.db import get_engine, write_session  # noqa: E402
from app.scoring import catalog  # noqa: E402
from app.main import app as served_app  # noqa: E402
from app.models import metadata  # noqa: E402

migrate.upgrade(_DATABASE_URL)
with write_session() as _session:
    catalog.sync_bundled(_session)

pytest_plugins = ["tests.shared_fixtures"]

# Seed data that every test shares and none changes.
KEEP_TABLES = {"rulesets"}


def pytest_unconfigure(config):
    get_engine().dispose()
    dbutil.drop_database(_DATABASE_URL)


@pytest.fixture(scope="session")
def engine():
    return get_engine()


@pytest.fixture(autouse=True)
def _clean_tables(engine):
    """Each test starts from empty tables (the schema stays at head)."""
    yield
    names = [t.name for t in reversed(metadata.sorted_tables) if t.name not in KEEP_TABLES]
    # DELETE, children first, rather than TRUNCATE: on PostgreSQL a TRUNCATE of every table costs
    # tens of milliseconds of file work even when the tables hold a few rows, after each of a
    # thousand tests. Tests therefore never rely on ids starting from 1.
    with engine.begin() as conn:
        for name in names:
            conn.execute(text(f'DELETE FROM "{name}"'))
    # Client ids come round again once the rows are gone (SQLite): forget their request counts too.
    ratelimit.reset()


@pytest.fixture(scope="session")
def app():
    """The application as served (``app.main:app``): the fuzzing loads its OpenAPI document from
    the same instance, so Prometheus counts every request of the run in one place."""
    return served_app


@pytest.fixture(scope="session")
def api(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def make_key():
    """make_key(role, region, department=None) -> request headers carrying a new key."""

    def make(role: str = "bureau", region: str = "150000", department: str | None = None,
             name: str | None = None) -> dict[str, str]:
        with write_session() as session:
            _client, key = client_service.create_client(
                session, role=role, region=region, department=department, name=name or f"{role} {region}"
            )
        return {"Authorization": f"Bearer {key}"}

    return make


@pytest.fixture
def bureau(make_key):
    return make_key("bureau", "150000")


def practitioner_body(**overrides) -> dict:
    body = {
        "name": "王某某",
        "id_number": "150428198001010014",
        "category": "physician",
        "region": "150428",
        "institutions": [{"code": "H15042800001", "name": "喀喇沁旗医院"}],
        "registered_on": "2024-01-01",
    }
    body.update(overrides)
    return body


@pytest.fixture
def register(api, bureau):
    """register(code, **fields) -> response JSON of a successful PUT by the province bureau."""

    def put(code: str = "D150428000123", headers: dict | None = None, **fields) -> dict:
        response = api.put(f"/v1/practitioners/{code}", json=practitioner_body(**fields), headers=headers or bureau)
        assert response.status_code in (200, 201), response.text
        return response.json()

    return put


@pytest.fixture(scope="session")
def live_server(app):
    """The app served by a real uvicorn on a free port, for tests with concurrent requests."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def concurrently(calls):
    """Run the zero-argument callables at once, one thread each; returns their results in order."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    # Every call gets its own thread: the barrier releases them together, and it would wait
    # forever for calls a smaller pool had not started yet.
    barrier = Barrier(len(calls), timeout=30)

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
