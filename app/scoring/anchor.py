"""Signed checkpoints of every chain head: what makes a cut, deleted or rewritten chain visible.

A ledger row's hash needs no secret, so whoever can write the database can delete a chain's last
rows, delete a whole chain, or edit a row and recompute every hash after it, and the chain still
links. A checkpoint states every chain's head under a signature that cannot be made there:

- its number (1, 2, 3 … with no gap), when, how many chains and rows;
- the SHA-256 of every head, one line ``"<practitioner id> <seq> <hash>\\n"`` each in practitioner
  order (``digest_of``), and the digest of the checkpoint before it;
- an Ed25519 signature over all of that (``statement``) by a key kept outside the database
  (app/scoring/signing.py), and the id of that key.

The heads themselves are stored where they moved since the checkpoint before
(``LedgerCheckpointHead``), so the full list of the latest checkpoint is rebuilt by taking each
practitioner's row of the highest checkpoint, and its digest recomputed.

A checkpoint is written only over a ledger that extends the latest one: every chain it named still
reaches that head with the same hash, the rows since link onto it, and the latest checkpoint's
stored heads still give its signed digest. So a new checkpoint never blesses a cut, a rewrite or
an edited list of heads, and holding the ledger to the latest checkpoint is enough.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from app.kit.db import insert_many, read_session, write_session
from app.kit.timeutil import utcnow
from app.notices.models import Notice
from app.scoring import ledger, signing
from app.scoring.models import LedgerCheckpoint, LedgerCheckpointHead

logger = logging.getLogger("app.ledger")

GENESIS = ledger.GENESIS
BATCH = 5000  # heads streamed at a time
PEOPLE = 1000  # moved chains whose rows are read at a time
# PostgreSQL advisory lock held while a checkpoint is written: two writers (two workers, the CLI)
# never build on the same latest checkpoint. SQLite's write lock is already held from BEGIN IMMEDIATE.
_LOCK_KEY = 0x6C656467657243  # "ledgerC"

Head = tuple[int, str]  # (seq, hash) of a chain's last row


@dataclass(frozen=True)
class Finding:
    """A chain that no longer reaches the head a checkpoint names, or rows that do not link."""

    practitioner_id: int | None
    seq: int | None
    problem: str


class NotExtended(Exception):
    """The ledger does not extend the latest checkpoint: no checkpoint is written over it."""

    def __init__(self, checkpoint_id: int | None, findings: list[Finding]):
        super().__init__(f"the ledger does not extend checkpoint {checkpoint_id}: {len(findings)} findings")
        self.checkpoint_id, self.findings = checkpoint_id, findings


class Digest:
    """SHA-256 over heads fed in practitioner order, with their count and rows."""

    def __init__(self):
        self._sha, self.chains, self.rows = hashlib.sha256(), 0, 0

    def add(self, practitioner_id: int, seq: int, head_hash: str) -> None:
        self._sha.update(f"{practitioner_id} {seq} {head_hash}\n".encode())
        self.chains, self.rows = self.chains + 1, self.rows + seq

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def digest_of(heads: Iterable[tuple[int, int, str]]) -> str:
    """The digest of (practitioner id, seq, hash) heads, sorted by practitioner id."""
    digest = Digest()
    for practitioner_id, seq, head_hash in sorted(heads):
        digest.add(practitioner_id, seq, head_hash)
    return digest.hexdigest()


def statement(checkpoint: LedgerCheckpoint) -> bytes:
    """The bytes a checkpoint's signature covers: every column but the signature."""
    body = {"id": checkpoint.id, "created_at": ledger._canonical(checkpoint.created_at), "chains": checkpoint.chains,
            "rows": checkpoint.rows, "digest": checkpoint.digest, "previous_digest": checkpoint.previous_digest,
            "key_id": checkpoint.key_id}
    return b"practitioner-credit ledger checkpoint\n" + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


# ---------------------------------------------------------------- heads


# Each chain's last row. A join on the grouped maximum works the same on both databases; on
# PostgreSQL it is one pass over the (practitioner_id, seq) index.
_CURRENT = text(
    "SELECT l.practitioner_id, l.seq, l.hash FROM ledger l "
    "JOIN (SELECT practitioner_id, max(seq) AS seq FROM ledger GROUP BY practitioner_id) m "
    "ON m.practitioner_id = l.practitioner_id AND m.seq = l.seq ORDER BY l.practitioner_id")
_ANCHORED = text("SELECT practitioner_id, seq, hash FROM ledger_checkpoint_heads WHERE checkpoint_id <= :upto "
                 "ORDER BY practitioner_id, checkpoint_id")


def _stream(connection: Connection, statement, params=None) -> Iterator[tuple]:
    # Streamed (a server-side cursor on PostgreSQL): a million heads are never held at once.
    result = connection.execute(statement, params or {}, execution_options={"stream_results": True, "yield_per": BATCH})
    for row in result:
        yield tuple(row)


def current_heads(connection: Connection) -> Iterator[tuple[int, int, str]]:
    """(practitioner id, seq, hash) of every chain's last row, in practitioner order."""
    return _stream(connection, _CURRENT)


def anchored_heads(connection: Connection, checkpoint_id: int) -> Iterator[tuple[int, int, str]]:
    """The heads checkpoint ``checkpoint_id`` names, in practitioner order: each practitioner's
    row of the highest checkpoint up to it."""
    last = None
    for row in _stream(connection, _ANCHORED, {"upto": checkpoint_id}):
        if last is not None and row[0] != last[0]:
            yield last
        last = row
    if last is not None:
        yield last


def heads_against(connection: Connection, checkpoint_id: int | None) -> Iterator[tuple[int, Head | None, Head | None]]:
    """(practitioner id, head the checkpoint names, head now) for every chain in either, in
    practitioner order: the two lists merged as they stream."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")  # every row is read
    anchored = anchored_heads(connection, checkpoint_id) if checkpoint_id is not None else iter(())
    current = current_heads(connection)
    a, c = next(anchored, None), next(current, None)
    while a is not None or c is not None:
        if c is None or (a is not None and a[0] < c[0]):
            yield a[0], a[1:], None
            a = next(anchored, None)
        elif a is None or c[0] < a[0]:
            yield c[0], None, c[1:]
            c = next(current, None)
        else:
            yield a[0], a[1:], c[1:]
            a, c = next(anchored, None), next(current, None)


def departure(checkpoint_id: int, practitioner_id: int, anchored: Head | None, now: Head | None) -> Finding | None:
    """How a chain left the head a checkpoint names, seen from the heads alone; None when it may
    still reach it (the same head, or a longer chain: ``reaches`` then checks the row)."""
    if anchored is None:
        return None
    seq, head_hash = anchored
    if now is None:
        return Finding(practitioner_id, None,
                       f"chain missing: checkpoint {checkpoint_id} names {seq} rows ending {head_hash[:12]}… (deleted chain)")
    if now[0] < seq:
        return Finding(practitioner_id, now[0], f"chain ends at row {now[0]}; checkpoint {checkpoint_id} names row "
                                                f"{seq} (rows deleted from its end)")
    if now[0] == seq and now[1] != head_hash:
        return Finding(practitioner_id, seq, rewritten(checkpoint_id, head_hash))
    return None


def rewritten(checkpoint_id: int, head_hash: str) -> str:
    return f"hash differs from checkpoint {checkpoint_id} ({head_hash[:12]}…): history rewritten"


def reaches(checkpoint_id: int, rows: list[ledger.Row], anchored: Head) -> Finding | None:
    """Whether a chain longer than its checkpointed head still passes through it."""
    seq, head_hash = anchored
    row = next((r for r in rows if r.seq == seq), None)
    if row is None:
        return Finding(rows[0].practitioner_id if rows else None, seq,
                       f"row missing; checkpoint {checkpoint_id} names it as the head (rows deleted)")
    if row.hash != head_hash:
        return Finding(row.practitioner_id, seq, rewritten(checkpoint_id, head_hash))
    return None


# ---------------------------------------------------------------- checkpoints


def latest(session: Session) -> LedgerCheckpoint | None:
    return session.exec(select(LedgerCheckpoint).order_by(col(LedgerCheckpoint.id).desc()).limit(1)).first()


def reference(session: Session) -> dict | None:
    """The latest checkpoint as a public notice names it, or None when there is none."""
    checkpoint = latest(session)
    if checkpoint is None:
        return None
    return {"id": checkpoint.id, "at": checkpoint.created_at.isoformat(), "digest": checkpoint.digest,
            "key_id": checkpoint.key_id}


def due(session: Session, now: datetime, every: timedelta) -> bool:
    """A checkpoint is due when there is none, the latest is ``every`` old, or a notice was
    published since it (so the ledger a notice was frozen from is signed soon after)."""
    last = latest(session)
    if last is None or now - last.created_at >= every:
        return True
    published = session.exec(select(func.max(Notice.published_at))).one()
    return published is not None and published > last.created_at


def write(session: Session, keys: signing.Keys, now: datetime | None = None,
          every: timedelta | None = None) -> tuple[LedgerCheckpoint, int] | None:
    """Write and commit the next checkpoint: (it, how many heads moved since the latest). With
    ``every``, only if one is due (``due``), decided under the lock; None when not.

    Raises ``NotExtended`` when the ledger does not extend the latest checkpoint, and writes nothing."""
    assert keys.private is not None, "writing a checkpoint needs the signing key"
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    now = now or utcnow()
    if every is not None and not due(session, now, every):
        return None
    last = latest(session)
    findings = []
    if last is not None:
        why = keys.check(last.key_id, last.signature, statement(last))
        if why:
            findings.append(Finding(None, None, f"checkpoint {last.id}: {why}"))
    checkpoint = LedgerCheckpoint(id=last.id + 1 if last else 1, created_at=now, chains=0, rows=0, digest="",
                                  previous_digest=last.digest if last else GENESIS, key_id=keys.signing_id,
                                  signature="")
    session.add(checkpoint)
    session.flush()  # its heads refer to it; it is completed and signed once they are all read
    anchored_digest, digest, moved, count = Digest(), Digest(), [], 0
    for practitioner_id, anchored, now_head in heads_against(connection, last.id if last else None):
        if anchored is not None:
            anchored_digest.add(practitioner_id, *anchored)
        finding = departure(last.id, practitioner_id, anchored, now_head) if last else None
        if finding:
            findings.append(finding)
            continue
        if now_head is None:
            continue
        digest.add(practitioner_id, *now_head)
        if anchored != now_head:
            moved.append((practitioner_id, anchored, now_head))
            if len(moved) == PEOPLE:
                findings += _store_moved(session, checkpoint.id, last.id if last else None, moved)
                count, moved = count + len(moved), []
    findings += _store_moved(session, checkpoint.id, last.id if last else None, moved)
    count += len(moved)
    if last is not None and anchored_digest.hexdigest() != last.digest:
        findings.append(Finding(None, None, f"checkpoint {last.id}: its stored heads do not give its signed digest "
                                            "(the list of heads was edited)"))
    if findings:
        session.rollback()
        raise NotExtended(last.id if last else None, findings)
    checkpoint.chains, checkpoint.rows, checkpoint.digest = digest.chains, digest.rows, digest.hexdigest()
    _key, checkpoint.signature = keys.sign(statement(checkpoint))
    session.commit()
    # The log, kept apart from the database, is a second copy of every digest.
    logger.info("ledger checkpoint %d: %d chains, %d rows, digest %s, key %s, %d heads moved", checkpoint.id,
                checkpoint.chains, checkpoint.rows, checkpoint.digest, checkpoint.key_id, count)
    return checkpoint, count


def _store_moved(session: Session, checkpoint_id: int, last_id: int | None,
                 moved: list[tuple[int, Head | None, Head]]) -> list[Finding]:
    """Check that each moved chain's rows since its checkpointed head (all of them for a new
    chain) link onto it and hash right, then store the new heads."""
    if not moved:
        return []
    findings = []
    rows = ledger.rows_of_many(session, [pid for pid, _a, _c in moved])
    for practitioner_id, anchored, now_head in moved:
        chain = [r for r in rows[practitioner_id] if r.seq <= now_head[0]]  # rows committed after the heads were read wait for the next one
        if anchored is not None:
            finding = reaches(last_id, chain, anchored)
            if finding:
                findings.append(finding)
                continue
        start, prev_hash = anchored if anchored is not None else (0, GENESIS)
        findings += [Finding(b.practitioner_id, b.seq, b.problem)
                     for b in ledger.verify_chain([r for r in chain if r.seq > start], prev_hash, start + 1)]
    if not findings:
        insert_many(session.connection(), LedgerCheckpointHead.__table__,
                    [{"practitioner_id": pid, "checkpoint_id": checkpoint_id, "seq": head[0], "hash": head[1]}
                     for pid, _a, head in moved])
    return findings


_said_no_key = False


def write_if_due() -> int:
    """The worker's job: write a checkpoint when one is due; 1 when it wrote one."""
    global _said_no_key
    from app.settings import get_settings

    settings = get_settings()
    keys = signing.configured()
    if keys.private is None:
        if not _said_no_key:  # once per process; a warning where it matters, not on every laptop
            _said_no_key = True
            logger.log(logging.WARNING if settings.environment == "production" else logging.INFO,
                       "no ledger signing key (APP_LEDGER_SIGNING_KEY): ledger checkpoints are not written")
        return 0
    every = timedelta(minutes=settings.ledger_checkpoint_minutes)
    now = utcnow()
    with read_session() as session:  # most rounds end here, without taking the write lock
        if not due(session, now, every):
            return 0
    with write_session() as session:
        try:
            written = write(session, keys, now, every)
        except NotExtended as exc:
            logger.error("no ledger checkpoint written: the ledger does not extend checkpoint %s (%d findings); "
                         "run python -m app ledger verify", exc.checkpoint_id, len(exc.findings))
            return 0
    return 1 if written else 0
