"""Appending to and verifying the practitioners' hash-chained ledger.

Each row's hash is SHA-256 over the previous row's hash and the row's canonical content, so an
edited, deleted or reordered row breaks every link after it. Rows are only ever inserted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, func, select

from app.kit.db import insert_many
from app.kit.timeutil import utcnow
from app.scoring.models import LedgerRow

GENESIS = "0" * 64
_HASHED = (
    "practitioner_id", "seq", "kind", "effective_on", "points", "case_id", "target_id", "violation_type",
    "tier", "circumstances", "ruleset_id", "details", "reason", "reference", "client_id", "created_at",
)


def _canonical(value):
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@dataclass(slots=True, eq=False)
class Row:
    """A ledger row as plain data, the ``ledger`` table's columns: what writes read, chain and insert.

    Not the ``LedgerRow`` model: building and loading SQLModel objects cost more than everything
    else a score case does with its rows (bench/RESULTS.md)."""

    practitioner_id: int
    kind: str
    effective_on: date
    points: int | None = None
    case_id: int | None = None
    target_id: int | None = None
    violation_type: str | None = None
    tier: str | None = None
    circumstances: str | None = None
    ruleset_id: str | None = None
    details: str = "{}"
    reason: str | None = None
    reference: str | None = None
    client_id: int | None = None
    created_at: datetime = field(default_factory=utcnow)
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""
    id: int | None = None


_TABLE = LedgerRow.__table__
_COLUMNS = tuple(f.name for f in fields(Row))
_INSERTED = tuple(name for name in _COLUMNS if name != "id")
assert set(_COLUMNS) == set(_TABLE.c.keys()), "ledger.Row must carry exactly the ledger table's columns"
# Statements built once: SQLAlchemy then finds their compiled form without deriving a cache key per call.
_SELECT_ROWS = (
    sa_select(*(_TABLE.c[name] for name in _COLUMNS))
    .where(_TABLE.c.practitioner_id.in_(bindparam("people", expanding=True)))
    .order_by(_TABLE.c.practitioner_id, _TABLE.c.seq)
)


def row_hash(prev_hash: str, row: Row | LedgerRow) -> str:
    content = {name: _canonical(getattr(row, name)) for name in _HASHED}
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def insert(session: Session, rows: list[Row]) -> list[Row]:
    """Write chained new rows, of one or many practitioners, in one plain INSERT on the session's
    connection (not through its unit of work); sets their ids."""
    written = insert_many(session.connection(), _TABLE, [{name: getattr(row, name) for name in _INSERTED} for row in rows],
                          returning=("practitioner_id", "seq", "id"))
    ids = {(practitioner_id, seq): row_id for practitioner_id, seq, row_id in written}
    for row in rows:
        row.id = ids[row.practitioner_id, row.seq]  # (practitioner, seq) is unique
    return rows


def chain(previous: Row | None, rows: Iterable[Row]) -> list[Row]:
    """Number and hash-chain new rows of one practitioner after ``previous``, the last row of their
    ledger as read under their lock (None for the first). ``insert`` writes them."""
    rows = list(rows)
    seq, prev_hash = (previous.seq, previous.hash) if previous is not None else (0, GENESIS)
    for row in rows:
        seq += 1
        row.seq = seq
        row.prev_hash = prev_hash
        row.hash = prev_hash = row_hash(prev_hash, row)
    return rows


def rows_of(session: Session, practitioner_id: int) -> list[Row]:
    return rows_of_many(session, [practitioner_id])[practitioner_id]


def rows_of_many(session: Session, practitioner_ids: Iterable[int]) -> dict[int, list[Row]]:
    """Each practitioner's rows in order, in one query."""
    by_person: dict[int, list[Row]] = {pid: [] for pid in practitioner_ids}
    for values in session.connection().execute(_SELECT_ROWS, {"people": list(by_person)}):
        row = Row(*values)
        by_person[row.practitioner_id].append(row)
    return by_person


@dataclass(frozen=True)
class BrokenLink:
    practitioner_id: int
    seq: int
    problem: str


def verify_chain(rows: list[Row], prev_hash: str = GENESIS, first_seq: int = 1) -> list[BrokenLink]:
    """Check one practitioner's rows (ordered by seq); from the start of the chain, or from after
    the row ``first_seq - 1`` whose hash is ``prev_hash`` (a checkpointed head)."""
    broken = []
    expected_seq = first_seq
    for row in rows:
        if row.seq != expected_seq:
            broken.append(BrokenLink(row.practitioner_id, row.seq, f"sequence gap: expected {expected_seq}"))
        if row.prev_hash != prev_hash:
            broken.append(BrokenLink(row.practitioner_id, row.seq, "prev_hash does not match the previous row"))
        if row_hash(row.prev_hash, row) != row.hash:
            broken.append(BrokenLink(row.practitioner_id, row.seq, "content does not match its hash"))
        prev_hash, expected_seq = row.hash, row.seq + 1
    return broken


def verify_all(session: Session, batch: int = 1000) -> tuple[int, list[BrokenLink]]:
    """(rows checked, broken links) over every practitioner's ledger, a batch of people at a time."""
    ids = [pid for pid in session.exec(select(LedgerRow.practitioner_id).distinct().order_by(LedgerRow.practitioner_id))]
    checked, broken = 0, []
    for start in range(0, len(ids), batch):
        for person_rows in rows_of_many(session, ids[start : start + batch]).values():
            checked += len(person_rows)
            broken += verify_chain(person_rows)
    return checked, broken


def count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(LedgerRow)).one()
