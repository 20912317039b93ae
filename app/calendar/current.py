"""The working-day calendar in force, as stored, built once per process per set of stored versions.

Deadlines are counted often (every referral shown, every notified case) and the calendar changes
about once a year, so a process keeps the ``Calendar`` it built and only asks the database which
year versions are stored (one small query), at most every ``VERSIONS_TTL`` seconds for a deadline
that is only shown. A load in this process forgets the calendar at once (``forget``); other
processes see the new version within the TTL when showing, and at once when storing.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import text
from sqlmodel import Session, select

from app.calendar.models import CalendarDay, CalendarYear
from app.shared.workdays import Calendar

VERSIONS_TTL = 5.0

_lock = threading.Lock()
# (monotonic time of the last version check, the versions, the calendar built from them)
_cached: tuple[float, tuple, Calendar] | None = None


def calendar(session: Session) -> Calendar:
    """For a deadline that is shown, not stored: may be up to ``VERSIONS_TTL`` seconds behind a
    load in another process."""
    cached = _cached
    if cached is not None and time.monotonic() - cached[0] < VERSIONS_TTL:
        return cached[2]
    return _checked(session)


def for_storing(session: Session) -> Calendar:
    """For a deadline the caller stores in this transaction. On PostgreSQL the transaction first
    waits for a load in progress (the load holds a conflicting lock, service.py), and a load
    waits for it: a deadline counted with the old calendar is then committed before the load
    recomputes the provisional ones, and never after, where the recomputation would miss it.
    SQLite serialises write transactions anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE calendar_years IN SHARE MODE"))
    return _checked(session)


def forget() -> None:
    """After a load or a correction: the next use reads the stored versions again."""
    global _cached
    _cached = None


def _versions(session: Session) -> tuple:
    return tuple(session.exec(select(CalendarYear.year, CalendarYear.sha256).order_by(CalendarYear.year)).all())


def _checked(session: Session) -> Calendar:
    global _cached
    versions = _versions(session)
    cached = _cached
    if cached is not None and cached[1] == versions:
        _cached = (time.monotonic(), versions, cached[2])
        return cached[2]
    with _lock:
        built = build(session)
        _cached = (time.monotonic(), versions, built)
        return built


def build(session: Session) -> Calendar:
    """The calendar as the session sees it now, bypassing the cache (a load counts with the
    version it has just written, before committing it)."""
    years = session.exec(select(CalendarYear.year)).all()
    days = session.exec(select(CalendarDay.day, CalendarDay.kind)).all()
    return Calendar.of(days, years)
