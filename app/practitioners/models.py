from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class Institution(SQLModel, table=True):
    """A designated medical institution (H…) or retail pharmacy (P…)."""

    __tablename__ = "institutions"

    code: str = Field(primary_key=True, max_length=12)
    name: str | None = Field(default=None, max_length=200)
    region: str = Field(max_length=6, index=True)


class Practitioner(SQLModel, table=True):
    __tablename__ = "practitioners"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=14, unique=True)
    name: str = Field(max_length=100)
    id_number_encrypted: str = Field(max_length=400)
    id_number_hash: str = Field(max_length=64, index=True)
    id_number_masked: str = Field(max_length=18)
    category: str = Field(max_length=20)
    region: str = Field(max_length=6, index=True)
    registered_on: date
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PractitionerInstitution(SQLModel, table=True):
    """Multi-site practice: a practitioner works at one or more institutions."""

    __tablename__ = "practitioner_institutions"

    practitioner_id: int = Field(foreign_key="practitioners.id", primary_key=True, ondelete="CASCADE")
    institution_code: str = Field(foreign_key="institutions.code", primary_key=True, index=True, max_length=12)
