"""Engine and sessions. PostgreSQL in production, SQLite embedded.

SQLite notes: WAL so readers never wait for the writer, a busy timeout instead of instant
"database is locked", and write transactions opened with ``BEGIN IMMEDIATE`` so two writers
serialise at BEGIN rather than dead-locking when both upgrade a read lock (the pysqlite recipe
from the SQLAlchemy docs). Read-only sessions keep plain deferred transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated

import orjson
from fastapi import Depends
from sqlalchemy import Table, TextClause, bindparam, event, insert, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session, create_engine

from app.settings import get_settings

WRITE = {"app_write": True}

logger = logging.getLogger("app.db")


def make_engine(url: str, pool_size: int = 20) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, see below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            immediate = conn.get_execution_options().get("app_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(settings.database_url, settings.db_pool_size)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def bulk_insert(connection: Connection, table: Table, rows: Sequence[Mapping]) -> None:
    """Many rows (dicts) into one table in the connection's transaction, no RETURNING: see
    ``bulk_writer``."""
    if rows:
        columns = list(rows[0])
        with bulk_writer(connection, table, columns) as write:
            write([tuple(map(row.get, columns)) for row in rows])


@contextmanager
def bulk_writer(connection: Connection, table: Table, columns: Sequence[str]) -> Iterator[Callable]:
    """``write(rows)``, rows as tuples in the order of ``columns``, into one table in the
    connection's transaction, no RETURNING, each value converted as an INSERT through SQLAlchemy
    would. PostgreSQL: one COPY for everything written, so the server stores the rows while the
    caller makes the next ones (a COPY per batch waited for each batch to be stored), in binary
    form, which neither side turns into text and back (a notice row: ~1 µs a row on each side
    against text COPY, 16 µs through SQLAlchemy's executemany). SQLite: the driver's executemany."""
    driver = connection.connection.driver_connection
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        # Binary values must be of the columns' own types: read them from the catalogue.
        types = dict(driver.execute("SELECT attname, atttypid::int FROM pg_attribute "
                                    "WHERE attrelid = %s::regclass AND attnum > 0", (table.name,)).fetchall())
        with driver.cursor().copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([types[c] for c in columns])

            def write(rows: Iterable[Sequence]) -> None:
                for row in rows:
                    copy.write_row(row)

            yield write
        return
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
    convert = [_remembered(table.c[c].type.dialect_impl(connection.dialect).bind_processor(connection.dialect))
               for c in columns]

    def insert(rows: Sequence[Sequence]) -> None:
        if any(convert):
            rows = [tuple(v if f is None or v is None else f(v) for f, v in zip(convert, row)) for row in rows]
        if rows:
            driver.executemany(statement, rows)

    yield insert


_FROM_JSON: dict[tuple, TextClause] = {}


def insert_many(connection: Connection, table: Table, rows: list[dict], returning: tuple[str, ...] = ()) -> list:
    """Many rows into one table with one statement, in the connection's transaction; the
    ``returning`` columns of each row come back in no promised order (match them by a key).

    On PostgreSQL the rows travel as one JSON document (``INSERT ... SELECT FROM json_to_recordset``),
    encoded by orjson and typed by the table's own column types: one short statement, which
    psycopg parses once and PostgreSQL prepares. A multi-row VALUES of a hundred ledger rows was
    re-parsed by the driver on every call, and arrays are dumped element by element in Python:
    each cost a fifth of a 100-entry score case (bench/RESULTS.md). Elsewhere, SQLAlchemy's
    multi-row INSERT."""
    if not rows:
        return []
    columns = tuple(rows[0])
    if connection.dialect.name != "postgresql":
        statement = insert(table).returning(*(table.c[c] for c in returning)) if returning else insert(table)
        result = connection.execute(statement, rows)
        return result.all() if returning else []
    key = (table.name, columns, returning)
    statement = _FROM_JSON.get(key)
    if statement is None:
        quote = connection.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        record = _record_columns(connection, table, columns)
        back = f" RETURNING {', '.join(quote(c) for c in returning)}" if returning else ""
        statement = text(f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} "
                         f"FROM json_to_recordset(CAST(:rows AS json)) AS r({record}){back}")
        _FROM_JSON[key] = statement
    result = connection.execute(statement, {"rows": _json_rows(connection, table, rows)})
    return result.all() if returning else []


def upsert_many(connection: Connection, table: Table, key: str, rows: list[dict]) -> None:
    """Insert each row, or set its other columns on the row whose ``key`` (the primary key)
    matches, with one statement (``INSERT ... ON CONFLICT DO UPDATE``): whether the row exists is
    decided by the database when it writes, not read beforehand by the caller. On PostgreSQL the
    rows travel as JSON (as ``insert_many``); on SQLite, the driver's executemany."""
    if not rows:
        return
    columns = tuple(rows[0])
    others = [c for c in columns if c != key]
    if connection.dialect.name != "postgresql":
        # Imported here: on PostgreSQL the SQLite dialect's modules are not needed (~12 ms of start-up).
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table)
        connection.execute(statement.on_conflict_do_update(
            index_elements=[table.c[key]], set_={c: statement.excluded[c] for c in others}), rows)
        return
    def upsert(quote, record: str) -> str:
        names = ", ".join(quote(c) for c in columns)
        sets = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in others)
        return (f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM json_to_recordset(CAST(:rows AS json)) "
                f"AS r({record}) ON CONFLICT ({quote(key)}) DO UPDATE SET {sets}")

    _execute_from_json(connection, table, rows, ("upsert", table.name, key, columns), upsert)


def update_many(connection: Connection, table: Table, key: str, rows: list[dict]) -> None:
    """Set the other columns of each row on the row whose ``key`` (the primary key) matches, with
    one statement: on PostgreSQL ``UPDATE ... FROM json_to_recordset`` (the rows as JSON, as
    ``insert_many``), elsewhere the driver's executemany."""
    if not rows:
        return
    columns = tuple(rows[0])
    others = [c for c in columns if c != key]
    if connection.dialect.name != "postgresql":
        # Parameters named apart from the columns: SQLAlchemy reserves a column's own name in SET.
        connection.execute(update(table).where(table.c[key] == bindparam("_key")).values(
            {c: bindparam(f"_set_{c}") for c in others}),
            [{"_key": row[key], **{f"_set_{c}": row[c] for c in others}} for row in rows])
        return
    def update_from(quote, record: str) -> str:
        sets = ", ".join(f"{quote(c)} = r.{quote(c)}" for c in others)
        return (f"UPDATE {quote(table.name)} SET {sets} FROM json_to_recordset(CAST(:rows AS json)) AS r({record}) "
                f"WHERE {quote(table.name)}.{quote(key)} = r.{quote(key)}")

    _execute_from_json(connection, table, rows, ("update", table.name, key, columns), update_from)


def _execute_from_json(connection: Connection, table: Table, rows: list[dict], cache_key: tuple, sql) -> None:
    """Run the statement ``sql(quote, record_columns)`` builds (once per ``cache_key``) with the
    rows as one JSON document (PostgreSQL)."""
    statement = _FROM_JSON.get(cache_key)
    if statement is None:
        record = _record_columns(connection, table, tuple(rows[0]))
        statement = _FROM_JSON[cache_key] = text(sql(connection.dialect.identifier_preparer.quote, record))
    connection.execute(statement, {"rows": _json_rows(connection, table, rows)})


def _record_columns(connection: Connection, table: Table, columns: tuple[str, ...]) -> str:
    quote, dialect = connection.dialect.identifier_preparer.quote, connection.dialect
    return ", ".join(f"{quote(c)} {table.c[c].type.compile(dialect=dialect)}" for c in columns)


def _json_rows(connection: Connection, table: Table, rows: list[dict]) -> str:
    # The columns' own checks first (an instant must carry its offset, as through SQLAlchemy).
    checks = [(c, f) for c in rows[0] if (f := table.c[c].type.bind_processor(connection.dialect)) is not None]
    if checks:
        rows = [{**row, **{c: f(row[c]) for c, f in checks}} for row in rows]
    return orjson.dumps(rows).decode()


def _remembered(convert):
    # The same dates and instants recur on every row: convert each once.
    return lru_cache(maxsize=4096)(convert) if convert is not None else None


def get_read_session() -> Iterator[Session]:
    """FastAPI dependency: a session for reads (writes go through ``write_session``)."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
    finally:
        _close(session)


def get_write_session() -> Iterator[Session]:
    """FastAPI dependency for a write: the service commits its unit of work itself, so the
    answer is only sent once the data is durable; anything not committed is rolled back."""
    session = Session(get_engine().execution_options(**WRITE), expire_on_commit=False)
    try:
        yield session
    finally:
        _close(session)


def _close(session: Session) -> None:
    """Close, tolerating a connection the database dropped meanwhile (a restart, a failover).

    Closing rolls back what was not committed; on a dropped connection the server has done so
    already. Raising here would lose what the request produced: the session closes after the
    answer is computed (with a read, while it is being sent), and a refusal to close would cut
    that answer off or hide the error that is on its way."""
    try:
        session.close()
    except (OperationalError, InterfaceError) as exc:
        logger.warning("closing a session on a lost database connection: %s", type(exc.orig).__name__)


# The same sessions outside a request's dependencies (CLI, worker, authentication, tests).
read_session = contextmanager(get_read_session)
write_session = contextmanager(get_write_session)


# What routers declare: ``session: ReadSession`` or ``session: WriteSession``.
ReadSession = Annotated[Session, Depends(get_read_session)]
WriteSession = Annotated[Session, Depends(get_write_session)]
