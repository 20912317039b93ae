"""Published notices. Never updated once written: a correction is a new revision."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class Notice(SQLModel, table=True):
    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("region", "year", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    region: str = Field(max_length=6)
    year: int
    revision: int
    previous_id: int | None = Field(default=None, foreign_key="notices.id")
    as_of: date
    issued_by: str = Field(max_length=200)
    contact: str | None = Field(default=None, max_length=200)
    client_id: int | None = Field(default=None, foreign_key="api_clients.id")
    user_id: int | None = Field(default=None, foreign_key="workbench_users.id")  # published on the workbench
    published_at: datetime = Field(default_factory=utcnow)
    header: str  # canonical JSON, as hashed
    summary: str  # canonical JSON, as hashed
    row_count: int
    sha256: str = Field(max_length=64)


class NoticeRow(SQLModel, table=True):
    """One published row. ``practitioner_id`` is never published: it pairs rows across notices.

    Keyed by its notice and position, with no id of its own and no foreign key to ``notices``: a
    freeze writes a million of them in the transaction that inserts their notice, and PostgreSQL
    checked such a key with a query per row (migration 0016)."""

    __tablename__ = "notice_rows"
    __table_args__ = (Index("ix_notice_rows_person", "notice_id", "practitioner_id"),)

    notice_id: int = Field(primary_key=True)
    position: int = Field(primary_key=True)
    practitioner_id: int
    points: int
    data: str  # canonical JSON of the row
