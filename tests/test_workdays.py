"""Working days against the State Council's holiday notices for 2025 (国办发明电〔2024〕12号)."""

from datetime import date

import pytest

from app.errors import CalendarNotCovered
from app.workdays import add_working_days, is_working_day, working_days_between


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
    assert is_working_day(day) is working


@pytest.mark.parametrize(("start", "count", "deadline"), [
    (date(2025, 3, 3), 5, date(2025, 3, 10)),     # Monday + 5: the next Monday (start not counted)
    (date(2025, 1, 24), 5, date(2025, 2, 7)),     # across the Spring Festival, counting Sunday 26 January
    (date(2025, 9, 30), 5, date(2025, 10, 14)),   # across National Day, counting Saturday 11 October
    (date(2025, 9, 26), 1, date(2025, 9, 28)),    # Friday + 1: the worked Sunday
])
def test_deadlines_across_holidays(start, count, deadline):
    assert add_working_days(start, count) == deadline
    assert working_days_between(start, deadline) == count


def test_a_year_without_official_data_is_an_error_not_a_guess():
    with pytest.raises(CalendarNotCovered) as raised:
        add_working_days(date(2099, 3, 2), 5)
    assert "no official holiday data for 2099" in raised.value.detail
