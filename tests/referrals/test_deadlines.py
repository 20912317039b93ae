"""Deadlines in Chinese working days, across the 2025 Spring Festival and National Day (the bundled
calendar), and provisional ones across a year without official data."""

from datetime import date

import pytest

from app.calendar import files
from app.referrals.deadlines import (
    CONCLUSION,
    FILING,
    RECEIPT,
    Deadline,
    Limits,
    conclusion_due,
    current,
    filing_due,
    receipt_due,
)
from app.referrals.machine import Kind, State
from app.shared.workdays import Due

L = Limits()
C = files.calendar_of(files.bundled())


@pytest.mark.parametrize(("sent", "due"), [
    (date(2025, 3, 3), date(2025, 3, 10)),    # Monday + 5 working days: the next Monday
    # Fri 24 Jan: Sun 26, Mon 27 worked; 28 Jan-4 Feb off; Wed 5, Thu 6, Fri 7 Feb
    (date(2025, 1, 24), date(2025, 2, 7)),
    # Thu 25 Sep: Fri 26, Sun 28 (worked), Mon 29, Tue 30; 1-8 Oct off; Thu 9 Oct
    (date(2025, 9, 25), date(2025, 10, 9)),
])
def test_receipt_within_five_working_days(sent, due):
    assert receipt_due(sent, L, C).day == due


def test_filing_decision_across_the_spring_festival_and_its_extension():
    # received Mon 20 Jan 2025: 21-24 (4), Sun 26 (5), 27 (6), 5-7 Feb (9), Sat 8 Feb worked (10),
    # 10-14 Feb (15)
    assert filing_due(date(2025, 1, 20), False, L, C).day == date(2025, 2, 14)
    # 15 more: 17 Feb - 7 Mar
    assert filing_due(date(2025, 1, 20), True, L, C).day == date(2025, 3, 7)


def test_filing_decision_across_national_day_counts_the_worked_saturday():
    # received Mon 22 Sep: 23-26 (4), Sun 28 (5), 29-30 (7), 9-10 Oct (9), Sat 11 Oct (10), 13-17 Oct (15)
    assert filing_due(date(2025, 9, 22), False, L, C).day == date(2025, 10, 17)


def test_conclusion_in_calendar_days_runs_on_past_a_holiday():
    assert conclusion_due(date(2025, 3, 3), L, C).day == date(2025, 6, 3)  # 1 Jun is Sunday, 2 Jun Dragon Boat holiday
    assert conclusion_due(date(2025, 4, 1), L, C).day == date(2025, 6, 30)  # a Monday: as is
    assert conclusion_due(date(2025, 7, 3), L, C).day == date(2025, 10, 9)  # 1 Oct falls in National Day: after it


def test_the_running_deadline_by_state():
    dates = dict(sent_on=date(2025, 3, 3), received_on=date(2025, 3, 5), filed_on=date(2025, 3, 20))
    assert current(Kind.case, State.sent, extended=False, limits=L, calendar=C, **dates) == Deadline(RECEIPT, date(2025, 3, 10))
    assert current(Kind.case, State.received, extended=False, limits=L, calendar=C, **dates).kind == FILING
    assert current(Kind.case, State.filed, extended=False, limits=L, calendar=C, **dates).kind == CONCLUSION
    for state in (State.draft, State.not_filed, State.concluded, State.returned, State.withdrawn, State.closed):
        assert current(Kind.case, state, extended=False, limits=L, calendar=C, **dates) is None
    assert current(Kind.notification, State.sent, extended=False, limits=L, calendar=C, **dates).kind == RECEIPT
    assert Deadline(RECEIPT, date(2025, 3, 10)).missed(date(2025, 3, 11))
    assert not Deadline(RECEIPT, date(2025, 3, 10)).missed(date(2025, 3, 10))


def test_configured_limits_apply():
    assert receipt_due(date(2025, 3, 3), Limits(receipt_working_days=1), C).day == date(2025, 3, 4)


def test_a_year_without_calendar_data_counts_weekends_only_and_is_provisional():
    # received Sun 20 Dec 2026: 21-25, 28-31 Dec (9), then 1 Jan 2027 counted as a working day (10), 4-8 Jan (15)
    assert filing_due(date(2026, 12, 20), False, L, C) == Due(date(2027, 1, 8), provisional=True)
    assert current(Kind.case, State.received, sent_on=None, received_on=date(2026, 12, 20), filed_on=None,
                   extended=False, limits=L, calendar=C) == Deadline(FILING, date(2027, 1, 8), provisional=True)
    assert receipt_due(date(2026, 12, 21), L, C) == Due(date(2026, 12, 28), provisional=False)
