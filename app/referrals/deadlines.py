"""Referral time limits (domain.md "Referrals"), pure over the working-day calendar.

Receipt within N working days of sending; the filing decision within N working days of
receipt, extendable once by N more; a filed case concluded within N calendar days of filing
(the administrative-penalty norm). The day a period starts from is not counted. A year the
calendar has no official data for raises ``CalendarNotCovered`` (from app.workdays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.referrals.machine import Kind, State
from app.workdays import add_working_days, is_working_day

RECEIPT, FILING, CONCLUSION = "receipt", "filing", "conclusion"


@dataclass(frozen=True)
class Limits:
    receipt_working_days: int = 5
    filing_working_days: int = 15
    extension_working_days: int = 15
    conclusion_days: int = 90


@dataclass(frozen=True)
class Deadline:
    kind: str  # receipt | filing | conclusion
    due_on: date  # the last day the step is in time

    def missed(self, today: date) -> bool:
        return today > self.due_on


def receipt_due(sent_on: date, limits: Limits) -> date:
    return add_working_days(sent_on, limits.receipt_working_days)


def filing_due(received_on: date, extended: bool, limits: Limits) -> date:
    days = limits.filing_working_days + (limits.extension_working_days if extended else 0)
    return add_working_days(received_on, days)


def conclusion_due(filed_on: date, limits: Limits) -> date:
    # A period in calendar days that ends on a rest day runs on to the next working day (顺延).
    due = filed_on + timedelta(days=limits.conclusion_days)
    while not is_working_day(due):
        due += timedelta(days=1)
    return due


def running(kind: Kind, state: State) -> str | None:
    """Which deadline runs for the recipient in ``state``, or None when it owes no step."""
    if state == State.sent:
        return RECEIPT
    if kind == Kind.case and state == State.received:
        return FILING
    if kind == Kind.case and state == State.filed:
        return CONCLUSION
    return None


def current(kind: Kind, state: State, *, sent_on: date | None, received_on: date | None,
            filed_on: date | None, extended: bool, limits: Limits) -> Deadline | None:
    """The deadline now running for the recipient, or None when it owes no step."""
    which = running(kind, state)
    if which == RECEIPT and sent_on is not None:
        return Deadline(RECEIPT, receipt_due(sent_on, limits))
    if which == FILING and received_on is not None:
        return Deadline(FILING, filing_due(received_on, extended, limits))
    if which == CONCLUSION and filed_on is not None:
        return Deadline(CONCLUSION, conclusion_due(filed_on, limits))
    return None
