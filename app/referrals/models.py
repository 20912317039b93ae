"""Referral tables: the referral (its current state), its subjects, its history, and the record
of deadlines already reported missed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class Referral(SQLModel, table=True):
    """One case clue or joint-sanction notice between the bureau and a partner department.

    direction: outbound (bureau -> department) | inbound (department -> bureau). ``department``
    is the partner on the other side either way; the history is in ``referral_events``.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("sender_client_id", "idempotency_key"),
        UniqueConstraint("sender_user_id", "idempotency_key"),
        # One joint-sanction notice per sanction (or its lift or change), department and region:
        # a person scored outside their home region is notified to the partners of both.
        UniqueConstraint("sanction_id", "department", "region", name="uq_referrals_sanction_id_department_region"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    direction: str = Field(max_length=10)
    department: str = Field(max_length=40, index=True)
    region: str = Field(max_length=6, index=True)
    status: str = Field(max_length=20, index=True)
    clue_category: str = Field(max_length=40)
    summary: str = Field(max_length=4000)
    evidence: str = "[]"  # JSON: [{uri, sha256}]
    score_case_id: int | None = Field(default=None, foreign_key="score_cases.id")
    # The ledger row a joint-sanction notice reports: a sanction, or the lift or change of one
    # (clue_category joint_sanction_lift / joint_sanction_change); one notice per row and department.
    sanction_id: int | None = Field(default=None, foreign_key="ledger.id")
    # Who drew it up: an API client, or a person on the workbench (the other one is null).
    sender_client_id: int | None = Field(default=None, foreign_key="api_clients.id")
    sender_user_id: int | None = Field(default=None, foreign_key="workbench_users.id")
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str | None = Field(default=None, max_length=64)
    year: int | None = Field(default=None, index=True)  # of the first sending: the reporting year
    sent_on: date | None = None  # the latest sending (a re-send restarts the receipt deadline)
    received_on: date | None = None
    extended_on: date | None = None
    filed_on: date | None = None
    declined_on: date | None = None
    concluded_on: date | None = None
    outcome: str | None = None  # JSON of the conclusion
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ReferralSubject(SQLModel, table=True):
    """An institution or practitioner a referral is about (role ``subject``) or that its outcome
    names (role ``outcome``): how a practitioner's dossier finds its referrals."""

    __tablename__ = "referral_subjects"

    referral_id: int = Field(foreign_key="referrals.id", primary_key=True)
    kind: str = Field(max_length=20, primary_key=True)  # institution | practitioner
    code: str = Field(max_length=14, primary_key=True, index=True)
    role: str = Field(max_length=10, primary_key=True)  # subject | outcome


class ReferralEvent(SQLModel, table=True):
    """One step in a referral's history: who did what, from which state to which, when, why."""

    __tablename__ = "referral_events"
    __table_args__ = (UniqueConstraint("referral_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referrals.id", index=True)
    seq: int
    action: str = Field(max_length=20)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str = Field(max_length=20)
    side: str = Field(max_length=10)
    client_id: int | None = Field(default=None, foreign_key="api_clients.id")
    user_id: int | None = Field(default=None, foreign_key="workbench_users.id")  # a step taken on the workbench
    occurred_on: date  # the date the step took place, as reported
    reason: str | None = Field(default=None, max_length=2000)
    outcome: str | None = None  # JSON, for ``conclude``
    recorded_at: datetime = Field(default_factory=utcnow)


class ReferralOverdue(SQLModel, table=True):
    """A missed deadline already reported: the unique key makes ``referral.overdue`` once per
    deadline even with two workers."""

    __tablename__ = "referral_overdue"
    __table_args__ = (UniqueConstraint("referral_id", "deadline", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referrals.id", index=True)
    deadline: str = Field(max_length=20)
    due_on: date
    reported_at: datetime = Field(default_factory=utcnow)
