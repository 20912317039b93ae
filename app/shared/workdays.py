"""Chinese working days (工作日): weekends off, official holidays off, adjusted weekends worked.

The State Council publishes each year's holidays and the weekend days worked in exchange (调休)
at the end of the previous year. The service keeps them in the database a year at a time
(app/calendar: the bundled files, and later years loaded by an administrator without a release);
this module is the arithmetic over them, and pure.

A ``Calendar`` is an immutable value holding the official days of the years it covers. Callers
pass it in: the service layer reads the current one (app/calendar/current.py, cached per process
and replaced when a year is loaded) and hands it to the deadline rules, so those stay functions
of their arguments and a test says which calendar it counts with. A module-wide calendar that
the service refreshed would have made every deadline depend on hidden state.

Deadlines follow the administrative rule that the starting day itself is not counted
(期间开始之日不计算在内). A day of a year the calendar does not cover is counted with weekends
only, and a deadline that counted such a day is *provisional*: the service marks it so, and
recomputes the stored ones when the year's official days are loaded, never shortening them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

HOLIDAY, WORKDAY = "holiday", "workday"


@dataclass(frozen=True)
class Due:
    """A deadline's last day, and whether it was counted across a year without official data."""

    day: date
    provisional: bool


@dataclass(frozen=True, eq=False)
class Calendar:
    # date -> worked: False for an official holiday, True for an adjusted weekend worked.
    official: Mapping[date, bool] = field(default_factory=dict)
    years: frozenset[int] = frozenset()  # the years whose official days are known

    @classmethod
    def of(cls, days: Iterable[tuple[date, str]], years: Iterable[int]) -> Calendar:
        """From (date, kind) pairs, kind ``holiday`` or ``workday``, and the years they cover."""
        return cls({day: kind == WORKDAY for day, kind in days}, frozenset(years))

    def covers(self, year: int) -> bool:
        return year in self.years

    def uncovered(self, first: date, last: date) -> list[int]:
        """The years from ``first`` to ``last`` (inclusive) without official data."""
        return [y for y in range(first.year, last.year + 1) if y not in self.years]

    def is_working_day(self, day: date) -> bool:
        worked = self.official.get(day) if day.year in self.years else None
        return worked if worked is not None else day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> Due:
        """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        day = start
        while count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return Due(day, bool(self.uncovered(start + timedelta(days=1), day)))

    def on_or_after(self, day: date) -> Due:
        """``day`` if it is a working day, else the next one: a period that ends on a rest day runs
        on to the next working day (顺延)."""
        first = day
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return Due(day, bool(self.uncovered(first, day)))

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many a deadline counted from ``start`` has used by ``end``."""
        if end <= start:
            return 0
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=n)))


WEEKENDS_ONLY = Calendar()
