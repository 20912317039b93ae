"""The standing feed's outbox: one row per change of what a standing check answers about a person.

A settlement system cannot make a network call per claim; it mirrors the standings instead
(``GET /v1/standings/snapshot``, then ``GET /v1/standings/changes``; docs/scaling.md, "The
standing feed and mirrors"). What a check answers depends on the person's stored timeline, their
registration date and their region (which ruleset is in force): so a change is recorded, in the
writer's transaction, when a timeline is stored (``scoring.service.store_timelines``, ledger
repair) and when a practitioner is registered or moves region. Each row carries everything a
consumer needs to answer any date locally, read after the write inside the same transaction.

Order. Consumers read in ``(xid, id)`` order and the reader serves only rows whose transaction is
older than every transaction still running (``app/scoring/feed.py``): nothing can commit behind a
consumer's cursor. ``xid`` is the writer's top-level PostgreSQL transaction id (``0`` on SQLite,
whose writers are serialised, so ``id`` order is commit order there).

xid order is not commit order, so two changes of one person could arrive in the other order than
they committed. ``version`` settles it: per person 1, 2, 3 … taken from ``standing_feed_heads``
under the person's row lock (every writer locks the practitioner's row first, in id order), so a
later commit always carries a higher version; a consumer keeps the highest version it has seen.
That also makes applying a change twice harmless (a snapshot and the feed overlap a little).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, bindparam, text
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class StandingChange(SQLModel, table=True):
    __tablename__ = "standing_changes"
    __table_args__ = (Index("ix_standing_changes_xid_id", "xid", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    # The writer's transaction (pg_current_xact_id(), epoch-extended: never wraps); 0 on SQLite.
    xid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    practitioner_id: int  # no foreign key: the feed is history, like the ledger's anchor
    version: int  # per person, 1, 2, 3 … in commit order (see the module's docstring)
    code: str = Field(max_length=14)
    region: str = Field(max_length=6)
    registered_on: date
    first_year: int | None = None  # as in ``standings``: NULL when the timeline has nothing in it
    timeline: str | None = None  # the stored timeline JSON; NULL when the person has none stored yet
    recorded_at: datetime = Field(default_factory=utcnow)


class StandingFeedHead(SQLModel, table=True):
    """Each person's latest feed version: the snapshot sends it with their standing."""

    __tablename__ = "standing_feed_heads"

    practitioner_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int


_HEADS = {
    "postgresql": "INSERT INTO standing_feed_heads (practitioner_id, version) "
                  "SELECT unnest(CAST(:ids AS integer[])), 1 "
                  "ON CONFLICT (practitioner_id) DO UPDATE SET version = standing_feed_heads.version + 1",
    # ``WHERE true``: SQLite's parser needs it between a SELECT and ON CONFLICT.
    "sqlite": "INSERT INTO standing_feed_heads (practitioner_id, version) "
              "SELECT value, 1 FROM json_each(:ids) WHERE true "
              "ON CONFLICT (practitioner_id) DO UPDATE SET version = standing_feed_heads.version + 1",
}
_CHANGES = ("INSERT INTO standing_changes (xid, practitioner_id, version, code, region, registered_on, "
            "first_year, timeline, recorded_at) "
            "SELECT {xid}, p.id, h.version, p.code, p.region, p.registered_on, s.first_year, s.timeline, :at "
            "FROM practitioners p JOIN standing_feed_heads h ON h.practitioner_id = p.id "
            "LEFT JOIN standings s ON s.practitioner_id = p.id WHERE p.id {among} ORDER BY p.id")
_RECORD = {
    "postgresql": _CHANGES.format(xid="CAST(CAST(pg_current_xact_id() AS text) AS bigint)",
                                  among="= ANY(CAST(:ids AS integer[]))"),
    "sqlite": _CHANGES.format(xid="0", among="IN (SELECT value FROM json_each(:ids))"),
}
_AT = StandingChange.__table__.c.recorded_at.type


def record(connection: Connection, practitioner_ids: Iterable[int]) -> None:
    """Record the current standing data of these practitioners as changes, in the caller's
    transaction, after its writes. The caller holds their rows locked (or SQLite's write lock)."""
    ids = sorted(set(practitioner_ids))
    if not ids:
        return
    postgres = connection.dialect.name == "postgresql"
    param = ids if postgres else json.dumps(ids)
    dialect = "postgresql" if postgres else "sqlite"
    connection.execute(text(_HEADS[dialect]), {"ids": param})
    connection.execute(text(_RECORD[dialect]).bindparams(bindparam("at", type_=_AT)),
                       {"ids": param, "at": utcnow()})
