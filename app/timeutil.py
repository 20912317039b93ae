"""Time helpers: instants are stored in UTC; calendar dates are Asia/Shanghai (configurable)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.settings import get_settings


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
