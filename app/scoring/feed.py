"""The standing feed and the snapshot: what a settlement system mirrors to check claims locally.

``page`` serves the changes app/shared/feed.py records, in ``(xid, id)`` order after a cursor;
``snapshot`` streams every practitioner's standing data with the cursor to follow the feed from.

Why the feed is complete on PostgreSQL. Change ids come from a sequence when the row is inserted,
but transactions commit in another order: a reader that served ``id > cursor`` could pass id 11
(committed) while id 10 is still uncommitted, and never see 10. So every change carries its
writer's transaction id (``pg_current_xact_id()``) and a page only holds rows whose xid is below
``pg_snapshot_xmin(pg_current_snapshot())``: the oldest transaction still running when the
page's statement took its snapshot. Every transaction below that has ended, so every row with such
an xid that will ever exist is visible to the statement; the cursor ``(xid, id)`` therefore only
ever passes rows that are final, and no later commit can land behind it. The cost: a change is
served once every transaction that started writing before it has ended (a long write holds the
feed back for its length; the writes here last milliseconds), and the feed's order is xid order,
not commit order, which the per-person ``version`` makes harmless (app/shared/feed.py).

The alternative considered, a feed sequence taken at commit under one lock (a counter row, or an
advisory lock held to commit), makes commit order explicit, but every writer in the country then
queues on that lock for the length of its commit's WAL flush: the writes of all regions commit
one at a time. Measured (``python -m bench.feed --order-costs``, 8 concurrent writers on the
shared 2-core machine): 254-286 commits/s serialised against 930-992 with the xid in the row and
1,115-1,212 with no change row at all (bench/RESULTS.md, "The standing feed"). The xid technique
adds two small inserts under locks the writer already holds, and a delay for readers instead:
a change is served once every older writing transaction has ended (docs/scaling.md).

A page is one range scan of the ``(xid, id)`` index, both bounds in its index condition (EXPLAIN
on 300,000 changes: 5,000 rows in 4 ms, 84 buffers).

On SQLite, writers are serialised (BEGIN IMMEDIATE): id order is commit order, xid is 0.

Cursors are opaque to consumers: ``"<xid>.<id>"``, the position after which to read.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.kit.db import get_engine, is_sqlite
from app.kit.errors import Invalid
from app.kit.messages import t
from app.kit.timeutil import utcnow

MAX_LIMIT = 10_000  # changes per page: a consumer catching up wants big pages
DEFAULT_LIMIT = 1_000
SNAPSHOT_BATCH = 2_000  # people read per statement while streaming a snapshot
_MAX = 2**63 - 1
_CURSOR = re.compile(r"(\d{1,19})\.(\d{1,19})")
START = (0, 0)  # before the first change

_COLUMNS = "c.code, c.version, c.region, c.registered_on, c.first_year, c.timeline"
_PAGE = ("SELECT c.xid, c.id, " + _COLUMNS + " FROM standing_changes c WHERE (c.xid, c.id) > (:xid, :id) {bound}"
         "ORDER BY c.xid, c.id LIMIT :limit")
PAGE = {
    "sqlite": text(_PAGE.format(bound="")),
    "postgresql": text(_PAGE.format(
        bound="AND c.xid < CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint) ")),
}
# Everyone registered, with their stored timeline and latest feed version, in id order.
_PEOPLE = text("SELECT p.id, p.code, COALESCE(h.version, 0), p.region, p.registered_on, s.first_year, s.timeline "
               "FROM practitioners p LEFT JOIN standings s ON s.practitioner_id = p.id "
               "LEFT JOIN standing_feed_heads h ON h.practitioner_id = p.id "
               "WHERE p.id > :after ORDER BY p.id LIMIT :limit")


def format_cursor(position: tuple[int, int]) -> str:
    return f"{position[0]}.{position[1]}"


def parse_cursor(value: str | None, field: str = "query.after") -> tuple[int, int]:
    """The position a ``next_cursor`` (or a snapshot's cursor) names; 422 for anything else."""
    if value is None:
        return START
    match = _CURSOR.fullmatch(value) if value.isascii() else None
    if match is None or int(match[1]) > _MAX or int(match[2]) > _MAX:
        raise Invalid(t("not a cursor of the standing feed (a next_cursor or a snapshot's cursor)"), field=field)
    return int(match[1]), int(match[2])


def item(code: str, version: int, region: str, registered_on: Any, first_year: int | None,
         timeline: str | None) -> dict:
    """One person's standing data as the feed and the snapshot send it: what a check answer is
    computed from (app/scoring/checks.py) and nothing else. The timeline is sent as stored."""
    return {"code": code, "version": version, "region": region, "registered_on": registered_on,
            "first_year": first_year,
            "timeline": orjson.Fragment(timeline) if timeline is not None else None}


def page(connection: Connection, after: tuple[int, int], limit: int) -> dict:
    """``{items, next_cursor}``: up to ``limit`` changes after ``after``. ``next_cursor`` is always
    given (the position to ask from next, the same one when nothing is new); fewer items than
    ``limit`` means the consumer has caught up."""
    dialect = "sqlite" if connection.dialect.name == "sqlite" else "postgresql"
    rows = connection.execute(PAGE[dialect], {"xid": after[0], "id": after[1], "limit": limit}).all()
    last = (rows[-1][0], rows[-1][1]) if rows else after
    return {"items": [item(*row[2:]) for row in rows], "next_cursor": format_cursor(last)}


def page_json(after: tuple[int, int], limit: int) -> bytes:
    with get_engine().connect() as connection:
        return orjson.dumps(page(connection, after, limit))


def snapshot_chunks(batch: int = SNAPSHOT_BATCH, level: int = 6) -> Iterator[bytes]:
    """Gzip-compressed NDJSON: a header line ``{"cursor", "taken_at"}``, one line per registered
    practitioner (``item``), and a last line ``{"end": true, "count": n}`` (a consumer that misses
    it got a cut-off stream). Read in batches by id inside one transaction, so memory stays
    constant and every line is as of one instant, the one the cursor names."""
    engine = get_engine()
    sqlite = is_sqlite(engine)
    gzip = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    with engine.connect() as connection:
        if not sqlite:
            # One snapshot for every statement; READ ONLY: no xid, nothing held back.
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            if not sqlite:
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield gzip.compress(orjson.dumps({"cursor": format_cursor(_snapshot_position(connection)),
                                              "taken_at": utcnow().isoformat()}) + b"\n")
            after, count = 0, 0
            while True:
                rows = connection.execute(_PEOPLE, {"after": after, "limit": batch}).all()
                if not rows:
                    break
                after, count = rows[-1][0], count + len(rows)
                lines = b"\n".join(orjson.dumps(item(*row[1:])) for row in rows) + b"\n"
                chunk = gzip.compress(lines)
                if chunk:
                    yield chunk
            yield gzip.compress(orjson.dumps({"end": True, "count": count}) + b"\n") + gzip.flush()


def _snapshot_position(connection: Connection) -> tuple[int, int]:
    """Where the feed goes on from a snapshot taken in this transaction.

    PostgreSQL: ``(xmin, 0)``, all changes of transactions from the snapshot's xmin on. Those below
    it ended before the snapshot and are in it; of those from it on, some are in the snapshot too
    (committed before it, or this transaction would not see them): a consumer gets those again,
    with a version it already has, and keeps what it has. SQLite: the last change id, read in the
    same transaction as the people."""
    if connection.dialect.name == "sqlite":
        last = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM standing_changes")).scalar_one()
        return (0, int(last))
    xmin = connection.execute(text(
        "SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint)")).scalar_one()
    return (int(xmin), 0)
