"""Throw-away databases for tests: a file for SQLite, a new database on the PostgreSQL server.

``APP_TEST_DATABASE_URL`` names the PostgreSQL server's maintenance database (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each run creates ``pct_<random>``
beside it and drops it afterwards, so parallel runs and CI never collide.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url


def server_url() -> str | None:
    return os.environ.get("APP_TEST_DATABASE_URL") or None


def create_database(prefix: str = "pct") -> str:
    """A new, empty database; returns its URL."""
    server = server_url()
    if server is None:
        path = os.path.join(tempfile.mkdtemp(prefix=f"{prefix}-"), "test.db")
        return f"sqlite:///{path}"
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and os.path.exists(parsed.database):
            os.remove(parsed.database)
        return
    admin = create_engine(server_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def empty_database(prefix: str = "pct") -> Iterator[tuple[str, Engine]]:
    """A new, empty database and an engine on it, both gone afterwards: for a test that migrates
    a database of its own (``migrate.upgrade(url, ...)``)."""
    url = create_database(prefix)
    engine = create_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        drop_database(url)
