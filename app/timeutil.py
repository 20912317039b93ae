"""Time helpers: instants are stored in UTC; calendar dates are Asia/Shanghai (configurable)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator

from app.settings import get_settings


def iso_text(value: object) -> object:
    """Dates and instants arrive as ISO 8601 text. A bare number, which pydantic would take for
    Unix seconds, is refused: the documented format is the only one accepted."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be ISO 8601 text, e.g. 2025-03-10 or 2025-03-10T09:30:00+08:00")
    return value


# Input types for request bodies and query parameters.
Day = Annotated[date, BeforeValidator(iso_text)]
Instant = Annotated[datetime, BeforeValidator(iso_text)]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@lru_cache
def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def local_date(instant: datetime | None = None) -> date:
    """The calendar date of an instant in the service's time zone (a naive instant is UTC)."""
    instant = instant or utcnow()
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(local_zone()).date()


def parse_instant_or_date(value: str) -> date:
    """``2025-12-31`` is that calendar date; ``2025-12-31T17:00:00Z`` (any offset) is the date
    of that instant in the service's zone; an instant without offset is read as local time."""
    value = value.strip()
    if len(value) == 10:
        return date.fromisoformat(value)
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        return instant.date()
    return local_date(instant)
