"""Scoring tables. The ledger is append-only: rows are inserted, never updated or deleted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class RulesetRecord(SQLModel, table=True):
    """A ruleset as loaded: immutable once stored (a change is a new id)."""

    __tablename__ = "rulesets"

    id: str = Field(primary_key=True, max_length=60)
    jurisdiction: str = Field(max_length=6)
    effective_from: date
    name: str = Field(max_length=200)
    sha256: str = Field(max_length=64)
    content: str  # canonical JSON of the validated ruleset
    loaded_at: datetime = Field(default_factory=utcnow)


class ScoreCase(SQLModel, table=True):
    """One decision against an institution (行政处罚 / 协议处理) with its scored people."""

    __tablename__ = "score_cases"
    __table_args__ = (
        UniqueConstraint("client_id", "case_ref"),
        UniqueConstraint("client_id", "idempotency_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="api_clients.id")
    case_ref: str = Field(max_length=100)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    basis: str = Field(max_length=30)
    decision_number: str = Field(max_length=100)
    decision_date: date
    institution_code: str = Field(max_length=12)
    region: str = Field(max_length=6, index=True)
    amount_involved: str | None = Field(default=None, max_length=30)  # yuan, as a decimal string
    ruleset_id: str = Field(max_length=60)
    response: str  # the first answer, JSON, returned again on a repeat
    created_at: datetime = Field(default_factory=utcnow)


class LedgerRow(SQLModel, table=True):
    """One fact in a practitioner's ledger, hash-chained to the previous row of that person.

    kind: entry | reversal | repair | registration | sanction | sanction_lift
    """

    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("practitioner_id", "seq"),
        UniqueConstraint("practitioner_id", "kind", "reference"),  # a repair's certificate counts once
    )

    id: int | None = Field(default=None, primary_key=True)
    practitioner_id: int = Field(foreign_key="practitioners.id", index=True)
    seq: int
    kind: str = Field(max_length=20)
    effective_on: date
    points: int | None = None
    case_id: int | None = Field(default=None, foreign_key="score_cases.id", index=True)
    target_id: int | None = Field(default=None, index=True)  # reversal: entry; sanction_lift: sanction
    violation_type: str | None = Field(default=None, max_length=40)
    tier: str | None = Field(default=None, max_length=20)
    circumstances: str | None = Field(default=None, max_length=20)
    ruleset_id: str | None = Field(default=None, max_length=60)
    details: str = "{}"  # JSON: kind-specific fields (sanction dates, repair activity, ...)
    reason: str | None = Field(default=None, max_length=2000)
    reference: str | None = Field(default=None, max_length=200)
    client_id: int | None = Field(default=None, foreign_key="api_clients.id")
    created_at: datetime = Field(default_factory=utcnow)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class StandingRecord(SQLModel, table=True):
    """The derived standing timeline of one practitioner, kept current in the ledger's
    transaction so the standing check is one indexed read."""

    __tablename__ = "standings"

    practitioner_id: int = Field(foreign_key="practitioners.id", primary_key=True)
    timeline: str  # JSON of standing.Timeline
    # Timeline.years(): the first and last year it has anything in, both NULL when it has nothing.
    # The standing check answers a NULL person without reading the timeline, and a notice for year
    # Y reads only the people whose span holds Y.
    first_year: int | None = None
    last_year: int | None = Field(default=None, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class LedgerCheckpoint(SQLModel, table=True):
    """A signed statement of every chain head at one instant (app/scoring/anchor.py).

    A row's hash needs no secret, so anyone who can write the database can delete a chain's last
    rows, a whole chain, or rewrite a row and every hash after it, and the chain still links. The
    Ed25519 key that signs these is kept outside the database: a checkpoint cannot be forged there,
    and a chain that no longer reaches the head a checkpoint names was cut or rewritten.

    ``id`` is the checkpoint's number, 1, 2, 3 … with no gap, set by the writer and signed, as is
    the digest of the checkpoint before it: a checkpoint removed from the middle is seen."""

    __tablename__ = "ledger_checkpoints"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    created_at: datetime = Field(default_factory=utcnow)
    chains: int  # practitioners with a ledger
    rows: int  # ledger rows up to the heads (the sum of the heads' seq)
    digest: str = Field(max_length=64)  # SHA-256 over the sorted heads (anchor.digest_of)
    previous_digest: str = Field(max_length=64)  # the checkpoint before's digest; 64 zeros for the first
    key_id: str = Field(max_length=16)  # which public key verifies the signature (survives a rotation)
    signature: str = Field(max_length=100)  # base64 Ed25519 signature over anchor.statement()


class LedgerCheckpointHead(SQLModel, table=True):
    """The heads a checkpoint names that the checkpoint before it did not (a new chain, or one that
    grew): the full list of checkpoint N is, per practitioner, their row of the highest checkpoint
    up to N. Stored as changes, not as a full list per checkpoint, so an hourly checkpoint of a
    million chains costs the chains that moved that hour."""

    __tablename__ = "ledger_checkpoint_heads"

    # No foreign key to practitioners: the anchor must outlive whatever happens to the rows it anchors.
    practitioner_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    checkpoint_id: int = Field(foreign_key="ledger_checkpoints.id", primary_key=True)
    seq: int
    hash: str = Field(max_length=64)
