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

from app import migrate  # noqa: E402
from app.audit.service import system_caller  # noqa: E402
from app.auth import service as client_service  # noqa: E402
from app.calendar import current as current_calendar  # noqa: E402
from app.calendar import files as calendar_files  # noqa: E402
from app.calendar import service as calendars  # noqa: E402
from app.calendar.service import BUNDLED  # noqa: E402
from app.kit import ratelimit  # noqa: E402
from app.kit.db import get_engine, write_session  # noqa: E402
from app.main import app as served_app  # noqa: E402
from app.models import metadata  # noqa: E402
from app.scoring import catalog  # noqa: E402

migrate.upgrade(_DATABASE_URL)
with write_session() as _session:
    catalog.sync_bundled(_session)
    calendars.sync_bundled(_session, system_caller("tests"))

pytest_plugins = ["tests.shared_fixtures"]
_BUNDLED_YEARS = {y.year for y in calendar_files.bundled()}

# Seed data that every test shares; a test that loads a calendar year is undone (below).
KEEP_TABLES = {"rulesets", "calendar_years", "calendar_days"}


def pytest_configure(config):
    config.addinivalue_line("markers", "database_independent: touches no database; CI's PostgreSQL pass skips it "
                                       "(it ran in the SQLite pass already)")


def pytest_collection_modifyitems(config, items):
    if not dbutil.server_url():
        return
    once = pytest.mark.skip(reason="database-independent: run by the SQLite pass")
    for item in items:
        if item.get_closest_marker("database_independent"):
            item.add_marker(once)


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
    _restore_bundled_calendar(engine)
    names = [t.name for t in reversed(metadata.sorted_tables) if t.name not in KEEP_TABLES]
    # DELETE, children first, rather than TRUNCATE: on PostgreSQL a TRUNCATE of every table costs
    # tens of milliseconds of file work even when the tables hold a few rows, after each of a
    # thousand tests. Tests therefore never rely on ids starting from 1.
    with engine.begin() as conn:
        for name in names:
            conn.execute(text(f'DELETE FROM "{name}"'))
    # Client ids come round again once the rows are gone (SQLite): forget their request counts too.
    ratelimit.reset()


def _restore_bundled_calendar(engine) -> None:
    """Back to the bundled years after a test loaded or corrected one (before the tables are
    emptied: restoring writes audit records)."""
    with engine.begin() as conn:
        stored = dict(conn.execute(text("SELECT year, source FROM calendar_years")).all())
        loaded = [year for year, source in stored.items() if source != BUNDLED]
        for year in loaded:
            conn.execute(text("DELETE FROM calendar_days WHERE year = :y"), {"y": year})
            conn.execute(text("DELETE FROM calendar_years WHERE year = :y"), {"y": year})
    if loaded or len(stored) != len(_BUNDLED_YEARS):
        with write_session() as session:
            calendars.sync_bundled(session, system_caller("tests"))
    current_calendar.forget()


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


@pytest.fixture
def register_named(register):
    """The Karaqin people and institutions the referral and workbench tests name (a referral may
    name only registered ones): D150428000123 at a hospital and two pharmacies, D150428000124."""
    register("D150428000123", registered_on="2020-01-01",
             institutions=[{"code": "H15042800001", "name": "喀喇沁旗医院"}, {"code": "P15042800003"},
                           {"code": "P15042800007"}])
    register("D150428000124", id_number="210402199003150034", registered_on="2020-01-01",
             institutions=[{"code": "H15042800001"}])
