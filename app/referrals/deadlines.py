"""Referral time limits (docs/api/referrals.md, "Deadlines"), pure over the working-day calendar.

Receipt within N working days of sending; the filing decision within N working days of
receipt, extendable once by N more; a filed case concluded within N calendar days of filing
(the administrative-penalty norm). The day a period starts from is not counted.

Counted over the calendar the service passes in; across a year without official holiday data a
deadline is provisional (weekends only). Referral deadlines are not stored but counted when
shown, so once that year is loaded they follow its official days: between two administrations
the official deadline is the one that binds, even where an adjusted weekend workday brings it a
day before the provisional one. (Deadlines owed to a practitioner are stored and never
shortened: app/dueprocess/service.py.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.referrals.machine import Kind, State
from app.shared.workdays import Calendar, Due

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
    provisional: bool = False  # counted across a year without official holiday data

    def missed(self, today: date) -> bool:
        return today > self.due_on


def receipt_due(sent_on: date, limits: Limits, calendar: Calendar) -> Due:
    return calendar.add_working_days(sent_on, limits.receipt_working_days)


def filing_due(received_on: date, extended: bool, limits: Limits, calendar: Calendar) -> Due:
    days = limits.filing_working_days + (limits.extension_working_days if extended else 0)
    return calendar.add_working_days(received_on, days)


def conclusion_due(filed_on: date, limits: Limits, calendar: Calendar) -> Due:
    # A period in calendar days that ends on a rest day runs on to the next working day (顺延).
    return calendar.on_or_after(filed_on + timedelta(days=limits.conclusion_days))


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
            filed_on: date | None, extended: bool, limits: Limits, calendar: Calendar) -> Deadline | None:
    """The deadline now running for the recipient, or None when it owes no step."""
    which = running(kind, state)
    if which is None:
        return None
    due = None
    if which == RECEIPT and sent_on is not None:
        due = receipt_due(sent_on, limits, calendar)
    elif which == FILING and received_on is not None:
        due = filing_due(received_on, extended, limits, calendar)
    elif which == CONCLUSION and filed_on is not None:
        due = conclusion_due(filed_on, limits, calendar)
    return Deadline(which, due.day, due.provisional) if due is not None else None
