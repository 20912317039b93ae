"""Deadlines in Chinese working days, across the 2025 Spring Festival and National Day."""

from datetime import date

import pytest

from app.errors import CalendarNotCovered
from app.referrals.deadlines import (
    CONCLUSION, FILING, RECEIPT, Deadline, Limits, conclusion_due, current, filing_due, receipt_due,
)
from app.referrals.machine import Kind, State

L = Limits()


@pytest.mark.parametrize(("sent", "due"), [
    (date(2025, 3, 3), date(2025, 3, 10)),    # Monday + 5 working days: the next Monday
    # Fri 24 Jan: Sun 26, Mon 27 worked; 28 Jan-4 Feb off; Wed 5, Thu 6, Fri 7 Feb
    (date(2025, 1, 24), date(2025, 2, 7)),
    # Thu 25 Sep: Fri 26, Sun 28 (worked), Mon 29, Tue 30; 1-8 Oct off; Thu 9 Oct
    (date(2025, 9, 25), date(2025, 10, 9)),
])
def test_receipt_within_five_working_days(sent, due):
    assert receipt_due(sent, L) == due


def test_filing_decision_across_the_spring_festival_and_its_extension():
    # received Mon 20 Jan 2025: 21-24 (4), Sun 26 (5), 27 (6), 5-7 Feb (9), Sat 8 Feb worked (10),
    # 10-14 Feb (15)
    assert filing_due(date(2025, 1, 20), False, L) == date(2025, 2, 14)
    # 15 more: 17 Feb - 7 Mar
    assert filing_due(date(2025, 1, 20), True, L) == date(2025, 3, 7)


def test_filing_decision_across_national_day_counts_the_worked_saturday():
    # received Mon 22 Sep: 23-26 (4), Sun 28 (5), 29-30 (7), 9-10 Oct (9), Sat 11 Oct (10), 13-17 Oct (15)
    assert filing_due(date(2025, 9, 22), False, L) == date(2025, 10, 17)


def test_conclusion_in_calendar_days_runs_on_past_a_holiday():
    assert conclusion_due(date(2025, 3, 3), L) == date(2025, 6, 3)  # 1 Jun is Sunday, 2 Jun Dragon Boat holiday
    assert conclusion_due(date(2025, 4, 1), L) == date(2025, 6, 30)  # a Monday: as is
    assert conclusion_due(date(2025, 7, 3), L) == date(2025, 10, 9)  # 1 Oct falls in National Day: after it


def test_the_running_deadline_by_state():
    dates = dict(sent_on=date(2025, 3, 3), received_on=date(2025, 3, 5), filed_on=date(2025, 3, 20))
    assert current(Kind.case, State.sent, extended=False, limits=L, **dates) == Deadline(RECEIPT, date(2025, 3, 10))
    assert current(Kind.case, State.received, extended=False, limits=L, **dates).kind == FILING
    assert current(Kind.case, State.filed, extended=False, limits=L, **dates).kind == CONCLUSION
    for state in (State.draft, State.not_filed, State.concluded, State.returned, State.withdrawn, State.closed):
        assert current(Kind.case, state, extended=False, limits=L, **dates) is None
    assert current(Kind.notification, State.sent, extended=False, limits=L, **dates).kind == RECEIPT
    assert Deadline(RECEIPT, date(2025, 3, 10)).missed(date(2025, 3, 11))
    assert not Deadline(RECEIPT, date(2025, 3, 10)).missed(date(2025, 3, 10))


def test_configured_limits_apply():
    assert receipt_due(date(2025, 3, 3), Limits(receipt_working_days=1)) == date(2025, 3, 4)


def test_a_year_without_calendar_data_raises():
    with pytest.raises(CalendarNotCovered):
        filing_due(date(2026, 12, 20), False, L)
