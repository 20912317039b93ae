"""Appending to and verifying the practitioners' hash-chained ledger.

Each row's hash is SHA-256 over the previous row's hash and the row's canonical content, so an
edited, deleted or reordered row breaks every link after it. Rows are only ever inserted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert as sa_insert
from sqlmodel import Session, col, func, select

from app.scoring.models import LedgerRow

GENESIS = "0" * 64
_HASHED = (
    "practitioner_id", "seq", "kind", "effective_on", "points", "case_id", "target_id", "violation_type",
    "tier", "circumstances", "ruleset_id", "details", "reason", "reference", "client_id", "created_at",
)


def _canonical(value):
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def row_hash(prev_hash: str, row: LedgerRow) -> str:
    content = {name: _canonical(getattr(row, name)) for name in _HASHED}
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def insert(session: Session, rows: list[LedgerRow]) -> list[LedgerRow]:
    """Write chained new rows, of one or many practitioners, in one plain INSERT (not through the
    session's unit of work, which cost more than building the rows); sets their ids."""
    if rows:
        table = LedgerRow.__table__
        ids = session.execute(
            sa_insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [row.model_dump(exclude={"id"}) for row in rows],
        ).scalars().all()
        for row, row_id in zip(rows, ids, strict=True):
            row.id = row_id
    return rows


def chain(previous: LedgerRow | None, rows: Iterable[LedgerRow]) -> list[LedgerRow]:
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


def rows_of(session: Session, practitioner_id: int) -> list[LedgerRow]:
    return rows_of_many(session, [practitioner_id])[practitioner_id]


def rows_of_many(session: Session, practitioner_ids: Iterable[int]) -> dict[int, list[LedgerRow]]:
    """Each practitioner's rows in order, in one query."""
    by_person: dict[int, list[LedgerRow]] = {pid: [] for pid in practitioner_ids}
    for row in session.exec(
        select(LedgerRow).where(col(LedgerRow.practitioner_id).in_(by_person))
        .order_by(LedgerRow.practitioner_id, LedgerRow.seq)
    ):
        by_person[row.practitioner_id].append(row)
    return by_person


@dataclass(frozen=True)
class BrokenLink:
    practitioner_id: int
    seq: int
    problem: str


def verify_chain(rows: list[LedgerRow]) -> list[BrokenLink]:
    """Check one practitioner's rows (ordered by seq)."""
    broken = []
    prev_hash, expected_seq = GENESIS, 1
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
