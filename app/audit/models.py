from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class AuditRecord(SQLModel, table=True):
    """One change (or one read of full personal data), written in the transaction that makes it.

    Nothing updates or deletes these rows: the service has no code path that does.
    ``object`` is ``type:id`` (``practitioner:D150428000123``, ``referral:12``) so one indexed
    column answers "what happened to this object". ``region`` is the object's region, which decides
    which bureau may read the record.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object", "id"),
        Index("ix_audit_log_principal", "principal", "id"),
        Index("ix_audit_log_region", "region", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    principal: str = Field(max_length=40)  # client:12, user:3, system:0
    actor_name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    actor_region: str = Field(max_length=6)
    actor_department: str | None = Field(default=None, max_length=40)
    request_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=60)  # score_case.create, referral.file, practitioner.id_search ...
    object: str = Field(max_length=120)
    region: str = Field(max_length=6)
    summary: str = "{}"  # JSON: what changed, never an ID number or a key
