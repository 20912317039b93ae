"""Due-process tables. Proposals and appeals change state (each step is also an event row);
defences and statements are appended and never edited."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class Proposal(SQLModel, table=True):
    """An entry of a ``notify`` case: notified, answerable, counting only once confirmed."""

    __tablename__ = "score_proposals"
    __table_args__ = (UniqueConstraint("case_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="score_cases.id", index=True)
    position: int  # index of the entry in the case
    practitioner_id: int = Field(foreign_key="practitioners.id", index=True)
    region: str = Field(max_length=6, index=True)
    violation_type: str = Field(max_length=40)
    tier: str | None = Field(default=None, max_length=20)
    circumstances: str | None = Field(default=None, max_length=20)
    points: int
    suspension_months: int | None = None
    act: str | None = Field(default=None, max_length=40)  # one act, several rules: counted once, at the highest
    ruleset_id: str = Field(max_length=60)
    status: str = Field(default="proposed", max_length=20, index=True)
    notified_on: date
    defence_deadline: date = Field(index=True)
    # Counted across a year without official holiday data (weekends only): recomputed, never
    # shortened, when that year is loaded (app/calendar/service.py).
    defence_deadline_provisional: bool = False
    decided_on: date | None = None
    decision_reason: str | None = Field(default=None, max_length=2000)
    decided_by: int | None = Field(default=None, foreign_key="api_clients.id")  # none: confirmed by itself
    entry_id: int | None = Field(default=None, foreign_key="ledger.id")  # the ledger entry once confirmed
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Defence(SQLModel, table=True):
    """申辩: the practitioner's statement of defence on a proposal (one per proposal)."""

    __tablename__ = "score_defences"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="score_proposals.id", unique=True)
    channel: str = Field(max_length=20)  # practitioner | institution
    text: str = Field(max_length=4000)
    evidence: str = "[]"  # JSON list of {uri, sha256?, description?}
    submitted_on: date
    client_id: int = Field(foreign_key="api_clients.id")
    created_at: datetime = Field(default_factory=utcnow)


class Appeal(SQLModel, table=True):
    """申诉 against a counting entry; one per entry."""

    __tablename__ = "score_appeals"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger.id", unique=True)
    practitioner_id: int = Field(foreign_key="practitioners.id", index=True)
    region: str = Field(max_length=6, index=True)
    status: str = Field(default="open", max_length=20, index=True)
    channel: str = Field(max_length=20)
    grounds: str = Field(max_length=4000)
    evidence: str = "[]"
    filed_on: date
    deadline: date  # the last day it could be filed
    deadline_provisional: bool = False  # as Proposal.defence_deadline_provisional
    decided_on: date | None = None
    decision_reason: str | None = Field(default=None, max_length=2000)
    decided_by: int | None = Field(default=None, foreign_key="api_clients.id")
    reversal_id: int | None = Field(default=None, foreign_key="ledger.id")
    client_id: int = Field(foreign_key="api_clients.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Statement(SQLModel, table=True):
    """The practitioner's own account attached to an entry; stays on the dossier."""

    __tablename__ = "score_statements"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger.id", index=True)
    practitioner_id: int = Field(foreign_key="practitioners.id", index=True)
    channel: str = Field(max_length=20)
    text: str = Field(max_length=4000)
    client_id: int = Field(foreign_key="api_clients.id")
    created_at: datetime = Field(default_factory=utcnow)
