"""Time helpers: instants are stored in UTC; calendar dates are Asia/Shanghai (configurable)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from app.kit.messages import t
from app.settings import get_settings


class DateRefused(ValueError):
    """A date or instant the API does not take. ``kind`` is the error type a validation problem
    names (pydantic's own names, which the workbench translates)."""

    def __init__(self, message: str, kind: str = "date_parsing"):
        super().__init__(message)
        self.message, self.kind = message, kind


DAY_FORMAT = t("must be a date (2025-12-31) or an ISO 8601 instant with offset (2025-12-31T09:30:00+08:00)")
INSTANT_FORMAT = t("must be an ISO 8601 instant with offset, e.g. 2025-12-31T09:30:00+08:00 or 2025-12-31T01:30:00Z")
NO_OFFSET = t("an instant needs its offset (Z, +08:00): without one it is ambiguous")
BEYOND = t("lies beyond the calendar (years 1 to 9999) in UTC or in the service's time zone")


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant with an offset (or Z), in UTC. Refused (``DateRefused``): any other text,
    an instant without offset (ambiguous), and one that is not in years 1 to 9999 once in UTC
    (``9999-12-31T23:59:59-12:00``). Bare numbers are refused too: never read as Unix seconds."""
    if len(value) <= 10 or value[4] != "-" or value[7] != "-" or value[10] not in "Tt ":
        raise DateRefused(INSTANT_FORMAT, "datetime_parsing")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise DateRefused(INSTANT_FORMAT, "datetime_parsing") from None
    if instant.tzinfo is None:
        raise DateRefused(NO_OFFSET, "timezone_aware")
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        raise DateRefused(BEYOND) from None


def parse_instant_or_date(value: str) -> date:
    """The one reading of a date the API takes, in bodies and query strings alike: ``2025-12-31``
    is that calendar date; an ISO 8601 instant with offset (``2025-12-31T17:00:00Z``) is the date
    of that instant in the service's zone (here 2026-01-01 in Asia/Shanghai). An instant without
    offset is ambiguous and refused, like any other text and any instant whose date there is not
    in years 1 to 9999 (``DateRefused``, a ``ValueError``)."""
    if len(value) == 10 and value[4] == "-" and value[7] == "-":  # not 2025-W10-1, which fromisoformat takes
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise DateRefused(DAY_FORMAT) from None
    try:
        instant = parse_instant(value)
    except DateRefused as refused:
        raise (DateRefused(DAY_FORMAT) if refused.kind == "datetime_parsing" else refused) from None
    try:
        return instant.astimezone(local_zone()).date()
    except OverflowError:
        raise DateRefused(BEYOND) from None


def _pydantic(refused: DateRefused) -> PydanticCustomError:
    # The message itself rides in the context, so that the problem handler renders it in the
    # client's language (app/kit/messages.py pydantic_message); pydantic keeps only its text.
    return PydanticCustomError(refused.kind, str(refused.message), {"message": refused.message})


def _day(value: object) -> object:
    if isinstance(value, datetime):  # from code, not from JSON: an aware one is an instant
        value = value.isoformat()
    elif isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise _pydantic(DateRefused(DAY_FORMAT))
    try:
        return parse_instant_or_date(value)
    except DateRefused as refused:
        raise _pydantic(refused) from None


def _instant(value: object) -> object:
    if isinstance(value, datetime):
        value = value.isoformat()
    if not isinstance(value, str):
        raise _pydantic(DateRefused(INSTANT_FORMAT, "datetime_parsing"))
    try:
        return parse_instant(value)
    except DateRefused as refused:
        raise _pydantic(refused) from None


# Input types for request bodies and query parameters: ``Day`` as ``parse_instant_or_date`` reads
# it, ``Instant`` as ``parse_instant`` does (always aware, in UTC). The document still says
# ``format: date`` / ``date-time``, the canonical forms.
Day = Annotated[date, BeforeValidator(_day)]
Instant = Annotated[datetime, BeforeValidator(_instant)]


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache
def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def local_date(instant: datetime | None = None) -> date:
    """The calendar date of an instant in the service's time zone (a naive instant is UTC)."""
    instant = instant or utcnow()
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(local_zone()).date()
