"""Chinese working days (工作日): weekends off, official holidays off, adjusted weekends worked.

The State Council publishes each year's holidays and the weekend days worked in exchange
(调休) at the end of the previous year; the ``chinesecalendar`` package carries those notices.
Deadlines counted in working days follow the administrative rule that the starting day itself
is not counted (期间开始之日不计算在内). A date the package has no data for raises
``CalendarNotCovered`` rather than guessing from weekends alone: the next year's notice is
usually published in November, and a guess would be wrong around its holidays.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from app.errors import CalendarNotCovered


def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise CalendarNotCovered(
            f"The working-day calendar has no official holiday data for {day.year} yet "
            f"(needed for {day.isoformat()}); update the chinesecalendar package"
        ) from None


def add_working_days(start: date, count: int) -> date:
    """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    day = start
    while count:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]: how many a deadline counted from ``start`` has used by ``end``."""
    if end <= start:
        return 0
    return sum(1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n)))
