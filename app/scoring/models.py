"""Scoring tables. The ledger is append-only: rows are inserted, never updated or deleted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow


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
