"""Working days against the State Council's holiday notices for 2025 (国办发明电〔2024〕12号), as
bundled, and the provisional count across a year without official data."""

from datetime import date, timedelta

import pytest

from app.calendar import files
from app.shared.workdays import WEEKENDS_ONLY, Calendar, Due

CALENDAR = files.calendar_of(files.bundled())


@pytest.mark.parametrize(("day", "working"), [
    (date(2025, 1, 26), True),   # Sunday worked before the Spring Festival
    (date(2025, 1, 28), False),  # 除夕
    (date(2025, 2, 4), False),   # last day of the Spring Festival holiday
    (date(2025, 2, 8), True),    # Saturday worked after it
    (date(2025, 9, 28), True),   # Sunday worked before National Day
    (date(2025, 10, 8), False),
    (date(2025, 10, 11), True),  # Saturday worked after National Day
    (date(2025, 10, 12), False),
    (date(2025, 3, 3), True),    # an ordinary Monday
    (date(2025, 3, 8), False),   # an ordinary Saturday
])
def test_official_holidays_and_adjusted_weekends(day, working):
    assert CALENDAR.is_working_day(day) is working


@pytest.mark.parametrize(("start", "count", "deadline"), [
    (date(2025, 3, 3), 5, date(2025, 3, 10)),     # Monday + 5: the next Monday (start not counted)
    (date(2025, 1, 24), 5, date(2025, 2, 7)),     # across the Spring Festival, counting Sunday 26 January
    (date(2025, 9, 30), 5, date(2025, 10, 14)),   # across National Day, counting Saturday 11 October
    (date(2025, 9, 26), 1, date(2025, 9, 28)),    # Friday + 1: the worked Sunday
])
def test_deadlines_across_holidays(start, count, deadline):
    assert CALENDAR.add_working_days(start, count) == Due(deadline, provisional=False)
    assert CALENDAR.working_days_between(start, deadline) == count


def test_a_year_without_official_data_counts_weekends_only_and_says_so():
    assert not CALENDAR.covers(2027)
    # Mon 28 Dec 2026: 29, 30, 31 Dec, Fri 1 Jan 2027 (a holiday every year, but not known yet), Mon 4 Jan
    assert CALENDAR.add_working_days(date(2026, 12, 28), 5) == Due(date(2027, 1, 4), provisional=True)
    # ending on 31 December, the window never left the covered year
    assert CALENDAR.add_working_days(date(2026, 12, 28), 3) == Due(date(2026, 12, 31), provisional=False)
    # starting in an uncovered year counts it too
    assert CALENDAR.add_working_days(date(2003, 12, 30), 5).provisional is True
    assert WEEKENDS_ONLY.add_working_days(date(2025, 1, 24), 5) == Due(date(2025, 1, 31), provisional=True)


def test_once_the_year_is_known_its_days_count():
    known = Calendar.of([(date(2027, 1, 1), "holiday"), (date(2027, 1, 9), "workday")], years=[2027])
    assert known.add_working_days(date(2026, 12, 31), 1) == Due(date(2027, 1, 4), provisional=False)
    assert known.is_working_day(date(2027, 1, 9)) and not known.is_working_day(date(2027, 1, 10))
    # a day listed for a year the calendar does not claim to cover is not trusted
    partial = Calendar.of([(date(2027, 1, 1), "holiday")], years=[])
    assert partial.is_working_day(date(2027, 1, 1))


def test_a_period_ending_on_a_rest_day_runs_on():
    assert CALENDAR.on_or_after(date(2025, 10, 1)) == Due(date(2025, 10, 9), provisional=False)
    assert CALENDAR.on_or_after(date(2025, 10, 9)) == Due(date(2025, 10, 9), provisional=False)
    assert CALENDAR.on_or_after(date(2027, 1, 2)) == Due(date(2027, 1, 4), provisional=True)


def test_the_bundled_years_are_the_official_data_they_were_exported_from():
    chinese_calendar = pytest.importorskip("chinese_calendar")
    from chinese_calendar import constants

    # The package may later carry years loaded here by hand: compare the years both have.
    years = {d.year for d in constants.holidays} & {y.year for y in files.bundled()}
    assert set(range(2004, 2027)) <= years
    day, last = date(min(years), 1, 1), date(max(years), 12, 31)
    while day <= last:
        assert CALENDAR.is_working_day(day) is chinese_calendar.is_workday(day), day
        day += timedelta(days=1)
