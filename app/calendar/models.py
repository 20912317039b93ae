"""Calendar tables: the years whose official days are known, and those days."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class CalendarYear(SQLModel, table=True):
    """A year whose official days are known: a year without a row is counted with weekends only.

    Replaced as a whole by a corrected version (``revision`` counts them); who loaded each version
    and what it changed is in the audit trail.
    """

    __tablename__ = "calendar_years"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    notice: str | None = Field(default=None, max_length=200)  # the State Council notice followed
    source: str = Field(max_length=10)  # bundled (a file shipped with the service) | api | cli
    sha256: str = Field(max_length=64)  # of the content (files.YearData.sha256): which version is in force
    revision: int = 1
    loaded_at: datetime = Field(default_factory=utcnow)
    loaded_by: str = Field(max_length=250)  # principal and name of who loaded this version


class CalendarDay(SQLModel, table=True):
    """An official day: a holiday (off) or a weekend day worked in exchange (调休)."""

    __tablename__ = "calendar_days"

    day: date = Field(primary_key=True)
    year: int = Field(foreign_key="calendar_years.year", index=True)
    kind: str = Field(max_length=10)  # holiday | workday
    name: str = Field(max_length=40)  # the holiday it belongs to, e.g. 春节
