"""Delivery rules: scope, outcome of an attempt, retry schedule. Pure: data in, data out."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from app.shared import regions

# Delays after the 1st, 2nd, ... failed attempt of a delivery; after the last one it has failed.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.2  # each delay is drawn from ±20 % so endpoints that failed together do not retry together
MAX_RETRY_AFTER = timedelta(hours=24)
RESPONSE_KEEP_BYTES = 2048
OPERATIONAL = "webhook.endpoint_disabled"


@dataclass(frozen=True)
class Owner:
    """Who an endpoint delivers to: its API client's scope."""

    client_id: int
    role: str
    region: str
    department: str | None


@dataclass(frozen=True)
class EventView:
    type: str
    region: str
    department: str | None
    client_id: int | None = None  # operational events concern one client
    also_region: str | None = None  # where the act happened, for a person scored outside home


def in_scope(owner: Owner, event: EventView) -> bool:
    """A bureau gets the events of its region and below; a partner only events naming its
    department inside its region; an operational event only its own client."""
    if event.type == OPERATIONAL:
        return event.client_id == owner.client_id
    if not (regions.covers(owner.region, event.region)
            or (event.also_region is not None and regions.covers(owner.region, event.also_region))):
        return False
    if owner.role == "bureau":
        return True
    if owner.role == "partner":
        return owner.department is not None and event.department == owner.department
    return False


def wants(owner: Owner, subscribed: list[str], event: EventView) -> bool:
    return event.type in subscribed and in_scope(owner, event)


@dataclass(frozen=True)
class Outcome:
    success: bool
    gone: bool = False  # 410: the receiver says the endpoint no longer exists
    retry_after: timedelta | None = None


def classify(status_code: int | None, headers: dict[str, str], now: datetime) -> Outcome:
    """2xx is success (the caller already turned a timeout into ``status_code=None``); 3xx is a
    failure since redirects are not followed; 429/503 may ask for a later retry."""
    if status_code is not None and 200 <= status_code < 300:
        return Outcome(success=True)
    if status_code == 410:
        return Outcome(success=False, gone=True)
    retry_after = None
    if status_code in (429, 503):
        value = {k.lower(): v for k, v in headers.items()}.get("retry-after")
        retry_after = parse_retry_after(value, now)
    return Outcome(success=False, retry_after=retry_after)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Seconds or an HTTP date (RFC 9110); None when absent or unreadable; capped at a day."""
    if not value:
        return None
    value = value.strip()
    # The receiver writes this header: ASCII digits only ("²".isdigit() is true, int() refuses it),
    # and capped before it becomes a timedelta, which overflows past 999,999,999 days.
    if value.isascii() and value.isdigit():
        seconds = int(value) if len(value) <= 9 else MAX_RETRY_AFTER.total_seconds()
        delay = timedelta(seconds=min(seconds, MAX_RETRY_AFTER.total_seconds()))
    else:
        try:
            when = parsedate_to_datetime(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            delay = when - now
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def next_attempt(failures: int, now: datetime, rng: random.Random,
                 retry_after: timedelta | None = None) -> datetime | None:
    """When to try again after ``failures`` failed attempts in a row, or None: give up.
    A Retry-After later than the schedule wins; an earlier one does not hurry us."""
    if failures > len(RETRY_SCHEDULE):
        return None
    delay = RETRY_SCHEDULE[failures - 1] * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + delay
