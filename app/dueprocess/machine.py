"""Due process as data: who may do what to a proposed entry or an appeal, and the deadlines.

Pure: the service asks ``step`` for the next state and turns a refusal into a 409 that lists
the allowed actions; deadlines are counted in Chinese working days from the ruleset, over the
calendar the service passes in (provisional across a year without official data).
"""

from __future__ import annotations

from datetime import date, timedelta

from app.scoring.rulesets import Ruleset
from app.shared.workdays import Calendar, Due

# A notified entry (procedure "notify"): counts only once confirmed.
PROPOSAL: dict[str, dict[str, str]] = {
    "proposed": {"defend": "defended", "confirm": "confirmed", "withdraw": "withdrawn"},
    "defended": {"confirm": "confirmed", "withdraw": "withdrawn"},
    "confirmed": {},
    "withdrawn": {},
}

# An appeal (申诉) against a counting entry: upheld appends a reversal.
APPEAL: dict[str, dict[str, str]] = {
    "open": {"uphold": "upheld", "reject": "rejected"},
    "upheld": {},
    "rejected": {},
}


class NotAllowed(Exception):
    def __init__(self, state: str, action: str, allowed: list[str]):
        super().__init__(f"{action} not allowed from {state}")
        self.state, self.action, self.allowed = state, action, allowed


def allowed(machine: dict[str, dict[str, str]], state: str) -> list[str]:
    return sorted(machine[state])


def step(machine: dict[str, dict[str, str]], state: str, action: str) -> str:
    try:
        return machine[state][action]
    except KeyError:
        raise NotAllowed(state, action, allowed(machine, state)) from None


def defence_deadline(notified_on: date, ruleset: Ruleset, calendar: Calendar) -> Due:
    """Last day a statement of defence is accepted (the notification day is not counted)."""
    return calendar.add_working_days(notified_on, ruleset.defence.window_working_days)


def appeal_deadline(counted_from: date, ruleset: Ruleset, calendar: Calendar) -> Due:
    """Last day an appeal is accepted against an entry counting since ``counted_from``."""
    return calendar.add_working_days(counted_from, ruleset.appeal.window_working_days)


def never_shorter(stored: date, recounted: Due) -> Due:
    """A stored deadline counted again with a newer calendar: a deadline once given is never
    shortened (people plan by it), only extended or settled."""
    return Due(max(stored, recounted.day), recounted.provisional)


def auto_confirmation_day(deadline: date) -> date:
    """An entry confirmed by itself is confirmed on the first day after its window, whenever
    the scheduled job happens to run, so the date does not depend on the job's timing."""
    return deadline + timedelta(days=1)


def effective_on(ruleset: Ruleset, decision_date: date, confirmed_on: date) -> date:
    """The date a confirmed entry counts from, as the ruleset says."""
    return decision_date if ruleset.defence.effective_from == "decision" else confirmed_on
