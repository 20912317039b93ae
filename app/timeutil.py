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
