"""Reads on the hot path (the standing check), outside the ORM.

Through a Session a one-row read cost a pool checkout with its ping, an explicit BEGIN, the ORM's
result machinery and a ROLLBACK, and the request a hop to a worker thread and back: together
about half of a standing check (bench/RESULTS.md). Here a read is one statement on a connection
the event loop keeps for itself, in autocommit: each statement reads the latest committed data, so
a score committed by any process is seen by the next check.

- SQLite: the loop's own connection (set up by the engine: WAL, busy timeout). A read is in-process
  work of some 15 µs that never waits for a writer under WAL, so it runs on the loop itself.
- PostgreSQL: ``APP_HOT_READ_CONNECTIONS`` asyncpg connections per event loop, used in turn;
  statements are prepared on the server at first use. asyncpg, not psycopg's asynchronous mode:
  a read cost 29 µs of the client's CPU against 68 (about a tenth of a check). A broken connection
  is replaced and the read tried once more.

Connections belong to the event loop that opened them (an asyncio connection cannot move between
loops; tests run the app on more than one); ``close()`` at shutdown closes the current loop's.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Sequence
from typing import Any

from app.kit.db import get_engine, is_sqlite
from app.kit.errors import DatabaseUnavailable
from app.kit.messages import t
from app.settings import get_settings


class _SqliteReads:
    def __init__(self) -> None:
        pooled = get_engine().raw_connection()
        self._conn = pooled.driver_connection
        pooled.detach()  # the loop's for good, not the pool's

    dialect = "sqlite"

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        return self._conn.execute(sql, params).fetchall()

    async def close(self) -> None:
        self._conn.close()


class _PostgresReads:
    dialect = "postgresql"

    def __init__(self, size: int) -> None:
        url = get_engine().url.set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._slots: list = [None] * size
        # One read at a time per connection (asyncpg refuses overlapping ones on a connection).
        self._locks = [asyncio.Lock() for _ in range(size)]
        self._turn = itertools.cycle(range(size))

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        import asyncpg

        # What a restart, a failover or a dropped connection looks like from here: the server
        # ending our session (class 57: admin shutdown, cannot connect now), a refused or reset
        # socket, a connection that is gone, or one left mid-protocol by a drop (InternalClientError:
        # "another operation is in progress").
        lost = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                asyncpg.exceptions.OperatorInterventionError, OSError, asyncio.TimeoutError)
        slot = next(self._turn)
        async with self._locks[slot]:
            for attempt in (1, 2):
                conn = self._slots[slot]
                try:
                    if conn is None or conn.is_closed():
                        conn = self._slots[slot] = await asyncpg.connect(self._dsn, timeout=5)
                    return await conn.fetch(sql, *params)  # prepared on first use, then reused
                except lost:
                    # One more try on a new connection; then the client is told to retry (503).
                    self._slots[slot] = None
                    if conn is not None:
                        conn.terminate()
                    if attempt == 2:
                        raise DatabaseUnavailable(
                            t("The database is unavailable for a moment; send the request again")) from None
        raise AssertionError("unreachable")

    async def close(self) -> None:
        for conn in self._slots:
            if conn is not None:
                await conn.close()
        self._slots = [None] * len(self._slots)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SqliteReads | _PostgresReads] = (
    weakref.WeakKeyDictionary()
)


def _reads() -> _SqliteReads | _PostgresReads:
    loop = asyncio.get_running_loop()
    reads = _by_loop.get(loop)
    if reads is None:
        if is_sqlite(get_engine()):
            reads = _SqliteReads()
        else:
            reads = _PostgresReads(get_settings().hot_read_connections)
        _by_loop[loop] = reads
    return reads


def dialect() -> str:
    """``sqlite`` or ``postgresql``: which SQL ``fetch`` takes (``?`` or ``$1`` placeholders)."""
    return _reads().dialect


async def fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    """All rows of one read statement, in the SQL of ``dialect()``."""
    return await _reads().fetch(sql, params)


async def close() -> None:
    """Close the current event loop's connections (application shutdown)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    reads = _by_loop.pop(loop, None)
    if reads is not None:
        await reads.close()
