"""From a practitioner's ledger facts and the rulesets to their standing timeline. Pure.

The rules (docs/rules.md), every number taken from the rulesets:
- Points count in the calendar year (Asia/Shanghai) of their effective date and reset on 1 January.
- Crossing the suspension threshold suspends from that entry's date for the months the deciding
  bureau gave, else the ruleset's months for the year total reached. It runs to its end even
  across 1 January; one imposed while another still runs starts the day after that one ends.
- Crossing the termination threshold terminates from that entry's date, ending any running
  suspension; re-registration is barred for the ruleset's years (longer when one case alone gave
  the termination total). A termination lasts until a re-registration on or after the bar.
- Crossing the warning threshold (where the ruleset has one) puts the person under focused
  supervision, with an interview, for the rest of the year.
- Repairs take points off, never below 0 and never past the yearly cap; they end a running
  suspension only where the ruleset says so and the total drops below the threshold.
- Sanctions are only imposed while the person is registered. Reversed entries are simply absent:
  the caller passes only the entries that stand, and the timeline is recomputed from scratch.

``derive`` builds the timeline; ``evaluate`` answers for one date; ``reconcile`` compares the
sanctions the ledger recorded with the ones the facts now imply.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from app.scoring.rulesets import Ruleset, Thresholds

WARNING, SUSPENSION, TERMINATION = "warning", "suspension", "termination"
ACTIVE, SUSPENDED, TERMINATED, NOT_REGISTERED = "active", "suspended", "terminated", "not_registered"
OPEN_ENDED = 9999  # the last year of a sanction without end (a termination), in ``Timeline.years``


@dataclass(frozen=True)
class Entry:
    id: int
    case_id: int
    on: date
    points: int
    ruleset_id: str
    suspension_months: int | None = None  # given by the deciding bureau, else by the ruleset


@dataclass(frozen=True)
class Repair:
    id: int
    on: date
    points: int
    ruleset_id: str


@dataclass(frozen=True)
class Facts:
    registered_on: date
    entries: Sequence[Entry] = ()
    repairs: Sequence[Repair] = ()
    reregistrations: Sequence[date] = ()


@dataclass(frozen=True)
class Sanction:
    kind: str
    trigger_entry_id: int
    starts_on: date
    imposed_until: date | None  # last day as imposed; None for a termination (open-ended)
    bar_until: date | None  # termination: re-registration possible from this day
    year: int
    total: int  # the year total that crossed the threshold
    ruleset_id: str
    months: int | None = None
    ends_on: date | None = None  # last day it actually applied (superseded, re-registered, repaired)
    end_reason: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        """What names a sanction across recomputations: its kind and the score that triggered it.
        Its dates may change (a back-dated case, a repair, a reversal): see ``terms``."""
        return (self.kind, self.trigger_entry_id)

    @property
    def terms(self) -> tuple[date, date | None, date | None, date | None]:
        """What a partner acts on: when it starts, runs to as imposed, bars until, and ends."""
        return (self.starts_on, self.imposed_until, self.bar_until, self.ends_on)

    @property
    def last_day(self) -> date | None:
        """The last day it applies (None: open-ended); before ``starts_on`` when it never applied."""
        return self.ends_on if self.ends_on is not None else self.imposed_until

    def applies_on(self, day: date) -> bool:
        last = self.last_day
        return self.starts_on <= day and (last is None or day <= last)

    def live_after(self, day: date) -> bool:
        """In force on ``day`` or due to start after it."""
        last = self.last_day
        return (last is None or last >= day) and (last is None or last >= self.starts_on)


@dataclass
class Timeline:
    registered_on: date
    # Per year, the running total after each change: [(date, total)], sorted by date.
    totals: dict[int, list[tuple[date, int]]] = field(default_factory=dict)
    repaired: dict[int, int] = field(default_factory=dict)
    repair_effect: dict[int, int] = field(default_factory=dict)  # repair id -> points it removed
    sanctions: list[Sanction] = field(default_factory=list)
    reregistrations: list[date] = field(default_factory=list)

    def total_on(self, day: date) -> int:
        changes = self.totals.get(day.year, [])
        i = bisect.bisect_right([d for d, _ in changes], day)
        return changes[i - 1][1] if i else 0

    def year_total(self, year: int) -> int:
        changes = self.totals.get(year, [])
        return changes[-1][1] if changes else 0

    def years(self) -> tuple[int, int] | None:
        """The first and last calendar year with points, repairs or a sanction in force
        (``OPEN_ENDED`` for a sanction without end), or None when there is none of these: such a
        person is active from registration with 0 points, and has no row in any notice."""
        years = [*self.totals, *(y for y, points in self.repaired.items() if points)]
        for s in self.sanctions:
            last = s.ends_on if s.ends_on is not None else s.imposed_until
            years += [s.starts_on.year, last.year if last is not None else OPEN_ENDED]
        return (min(years), max(years)) if years else None

    def to_json(self) -> dict[str, Any]:
        return {
            "registered_on": self.registered_on.isoformat(),
            "totals": {str(y): [[d.isoformat(), t] for d, t in v] for y, v in self.totals.items()},
            "repaired": {str(y): v for y, v in self.repaired.items()},
            "repair_effect": {str(k): v for k, v in self.repair_effect.items()},
            "sanctions": [_sanction_json(s) for s in self.sanctions],
            "reregistrations": [d.isoformat() for d in self.reregistrations],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Timeline:
        # Read for every standing check and every row of a notice; most timelines have no repairs,
        # sanctions or re-registrations, so their empty parts are not walked.
        repaired, effect, sanctions, reregistrations = (
            data["repaired"], data["repair_effect"], data["sanctions"], data["reregistrations"])
        return cls(
            registered_on=date.fromisoformat(data["registered_on"]),
            totals={int(y): [(date.fromisoformat(d), t) for d, t in v] for y, v in data["totals"].items()},
            repaired={int(y): v for y, v in repaired.items()} if repaired else {},
            repair_effect={int(k): v for k, v in effect.items()} if effect else {},
            sanctions=[_sanction_from_json(s) for s in sanctions] if sanctions else [],
            reregistrations=[date.fromisoformat(d) for d in reregistrations] if reregistrations else [],
        )


def _sanction_json(s: Sanction) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(s).items()}


def _sanction_from_json(d: Mapping[str, Any]) -> Sanction:
    dates = {"starts_on", "imposed_until", "bar_until", "ends_on"}
    fields: dict[str, Any] = {k: (date.fromisoformat(v) if k in dates and v else v) for k, v in d.items()}
    return Sanction(**fields)


def add_months(day: date, months: int) -> date:
    later: date = day + relativedelta(months=months)
    return later


def months_last_day(starts_on: date, months: int) -> date:
    """The last day of a period of whole months that includes ``starts_on``: the day before the
    same day of the month ``months`` later, or that month's last day when it has no such day
    (民法典 art. 203: 没有对应日的，月末日为期间的最后一日). 31 January + 1 month ends on
    28 February, not 27: a short month never shortens a suspension by more than it must."""
    end = add_months(starts_on, months)
    return end if end.day < starts_on.day else end - timedelta(days=1)


def add_years(day: date, years: int) -> date:
    later: date = day + relativedelta(years=years)
    return later


def _bar(termination: Sanction) -> date:
    """A termination's first day a re-registration may take effect (every termination has one)."""
    assert termination.bar_until is not None
    return termination.bar_until


def _until(suspension: Sanction) -> date:
    """A suspension's last day (every suspension has one)."""
    last = suspension.last_day
    assert last is not None
    return last


def derive(facts: Facts, rulesets: Mapping[str, Ruleset]) -> Timeline:
    """The timeline implied by the facts: a pure function of the set of facts, whatever order they
    were recorded in (same-day entries are taken together; ids only name which entry triggered)."""
    timeline = Timeline(registered_on=facts.registered_on)
    entries: dict[date, list[Entry]] = defaultdict(list)
    repairs: dict[date, list[Repair]] = defaultdict(list)
    for e in sorted(facts.entries, key=lambda e: e.id):
        entries[e.on].append(e)
    for r in sorted(facts.repairs, key=lambda r: r.id):
        repairs[r.on].append(r)
    registrations = sorted(facts.reregistrations)
    days = sorted({*entries, *repairs, *registrations})

    totals: dict[int, int] = defaultdict(int)
    case_points: dict[int, int] = defaultdict(int)
    warned_years: set[int] = set()
    sanctions: list[Sanction] = []
    terminated: int | None = None  # index of the termination in force until a re-registration

    def end(index: int, last_day: date, reason: str) -> None:
        sanctions[index] = _replace(sanctions[index], ends_on=last_day, end_reason=reason)

    def running_suspensions(day: date) -> list[int]:
        """Suspensions in force on ``day`` or queued to start after it."""
        return [i for i, s in enumerate(sanctions) if s.kind == SUSPENSION and s.live_after(day)]

    for day in days:
        year = day.year
        # Same day: a re-registration first (the person is registered again from that day, and
        # the day's scores apply to them as registered), then the entries, then repairs (a repair
        # cannot pre-empt the day's points).
        for registered in (d for d in registrations if d == day):
            timeline.reregistrations.append(registered)
            if terminated is not None and _bar(sanctions[terminated]) <= day:
                end(terminated, day - timedelta(days=1), "re-registered")
                terminated = None

        group = entries.get(day, [])
        if group:
            running = totals[year]
            first: dict[str, Entry] = {}  # per threshold, the first entry (by id) that reaches it
            for e in group:
                running += e.points
                case_points[e.case_id] += e.points
                t = rulesets[e.ruleset_id].thresholds
                for kind, level in ((WARNING, t.warning), (SUSPENSION, t.suspension), (TERMINATION, t.termination)):
                    if level is not None and running >= level:
                        first.setdefault(kind, e)
            after = totals[year] = running
            timeline.totals.setdefault(year, []).append((day, after))

            def calling(kind: str, group: list[Entry] = group, after: int = after) -> list[Entry]:
                """The day's entries that leave the year total at or above their ruleset's level."""
                level: Callable[[Thresholds], int | None] = {
                    WARNING: lambda th: th.warning, SUSPENSION: lambda th: th.suspension,
                    TERMINATION: lambda th: th.termination}[kind]
                return [e for e in group
                        if (at := level(rulesets[e.ruleset_id].thresholds)) is not None and after >= at]

            for_termination = calling(TERMINATION)
            if for_termination:
                bar = max(add_years(day, _bar_years(rulesets[e.ruleset_id], case_points[e.case_id]))
                          for e in for_termination)
                if terminated is not None:
                    # Points while terminated: the bar runs from the latest score that reaches the level.
                    if bar > _bar(sanctions[terminated]):
                        sanctions[terminated] = _replace(sanctions[terminated], bar_until=bar)
                else:
                    for i in running_suspensions(day):
                        s = sanctions[i]
                        end(i, max(s.starts_on, day) - timedelta(days=1), "superseded by termination")
                    trigger = first.get(TERMINATION, for_termination[-1])
                    sanctions.append(Sanction(
                        kind=TERMINATION, trigger_entry_id=trigger.id, starts_on=day, imposed_until=None,
                        bar_until=bar, year=year, total=after, ruleset_id=trigger.ruleset_id,
                    ))
                    terminated = len(sanctions) - 1
            # A termination in force outranks what the day calls for below it, but does not erase
            # it: a re-registration before that runs out leaves the person suspended or warned, as
            # they would be had they not also been terminated. A day that reaches the termination
            # level calls for nothing less: its bar outlasts any suspension (rulesets.py).
            if not for_termination:
                for_warning = calling(WARNING)
                if for_warning and year not in warned_years:
                    warned_years.add(year)
                    trigger = first.get(WARNING, for_warning[-1])
                    sanctions.append(Sanction(
                        kind=WARNING, trigger_entry_id=trigger.id, starts_on=day, imposed_until=date(year, 12, 31),
                        bar_until=None, year=year, total=after, ruleset_id=trigger.ruleset_id,
                    ))
                for_suspension = calling(SUSPENSION)
                if for_suspension:
                    suspension = _suspension(for_suspension, first.get(SUSPENSION, for_suspension[-1]), day, after,
                                             [sanctions[i] for i in running_suspensions(day)], rulesets)
                    if suspension is not None:
                        sanctions.append(suspension)

        for r in repairs.get(day, []):
            rules = rulesets[r.ruleset_id]
            room = rules.repair.yearly_cap - timeline.repaired.get(year, 0)
            effect = max(0, min(r.points, room, totals[year]))
            timeline.repair_effect[r.id] = effect
            if not effect:
                continue
            totals[year] -= effect
            timeline.repaired[year] = timeline.repaired.get(year, 0) + effect
            timeline.totals.setdefault(year, []).append((day, totals[year]))
            if rules.repair.lifts_sanction:
                for i in running_suspensions(day):
                    s = sanctions[i]
                    # Only the year total that imposed a suspension can drop below its level.
                    if s.year == year and totals[year] < rulesets[s.ruleset_id].thresholds.suspension:
                        end(i, max(s.starts_on, day) - timedelta(days=1), "repaired below the threshold")

    timeline.sanctions = sanctions
    return timeline


def _bar_years(rules: Ruleset, case_points: int) -> int:
    """Years barred from re-registration: longer when one case alone gave the termination total."""
    bar = rules.reregistration
    single = case_points >= rules.thresholds.termination
    return bar.bar_years_after_single_case if single else bar.bar_years_after_accumulation


def _suspension(calling: Sequence[Entry], trigger: Entry, day: date, total: int, running: Sequence[Sanction],
                rulesets: Mapping[str, Ruleset]) -> Sanction | None:
    """The suspension the day's scores call for, or None when one in force already covers it.

    Every score that leaves the year total at or above the level calls for a suspension from its
    day, for the months its bureau gave or the ruleset gives for the total. One still running from
    an earlier year is served first. With ``later_scores = "extend"`` a call overlapping this
    year's suspension runs beside it, so the later end wins; with ``"stack"`` it is served after it."""
    rules = rulesets[trigger.ruleset_id]
    months = max(e.suspension_months or rulesets[e.ruleset_id].suspension_months(total) for e in calling)
    stack = rules.suspension.later_scores == "stack"
    ahead = [s for s in running if stack or s.year != day.year]
    starts = max([day, *(_until(s) + timedelta(days=1) for s in ahead)])
    until = months_last_day(starts, months)
    if any(s.starts_on <= starts and _until(s) >= until for s in running):
        return None  # adds no day
    return Sanction(kind=SUSPENSION, trigger_entry_id=trigger.id, starts_on=starts, imposed_until=until,
                    bar_until=None, year=day.year, total=total, ruleset_id=rules.id, months=months)


def _replace(sanction: Sanction, **changes: Any) -> Sanction:
    return Sanction(**{**asdict(sanction), **changes})


@dataclass(frozen=True)
class Standing:
    on: date
    status: str
    billing_allowed: bool
    emergency_allowed: bool
    year: int
    points: int
    focused_supervision: bool
    suspended_from: date | None
    suspended_until: date | None
    terminated_on: date | None
    reregistration_barred_until: date | None


def evaluate(timeline: Timeline, day: date, rulesets: Mapping[str, Ruleset]) -> Standing:
    """The standing on ``day``: what a settlement system needs for one claim."""
    in_force = [s for s in timeline.sanctions if s.applies_on(day)]
    termination = next((s for s in in_force if s.kind == TERMINATION), None)
    suspensions = [s for s in in_force if s.kind == SUSPENSION]
    warning = next((s for s in in_force if s.kind == WARNING), None)
    if day < timeline.registered_on:
        status = NOT_REGISTERED
    elif termination is not None:
        status = TERMINATED
    elif suspensions:
        status = SUSPENDED
    else:
        status = ACTIVE
    binding = termination or (suspensions[0] if suspensions else None)
    emergency = status == ACTIVE or (
        binding is not None and rulesets[binding.ruleset_id].emergency_exemption
    )
    suspended = _suspended_span(timeline.sanctions, suspensions) if suspensions and not termination else None
    return Standing(
        on=day,
        status=status,
        billing_allowed=status == ACTIVE,
        emergency_allowed=emergency,
        year=day.year,
        points=timeline.total_on(day),
        focused_supervision=warning is not None and status == ACTIVE,
        suspended_from=suspended[0] if suspended else None,
        suspended_until=suspended[1] if suspended else None,
        terminated_on=termination.starts_on if termination else None,
        reregistration_barred_until=termination.bar_until if termination else None,
    )


def _suspended_span(sanctions: Sequence[Sanction], in_force: Sequence[Sanction]) -> tuple[date, date]:
    """First and last day of the unbroken run of suspensions around the ones in force: suspensions
    that overlap or follow one another without a gap are one period for a claim."""
    first = min(s.starts_on for s in in_force)
    last = max(_until(s) for s in in_force)
    spans = sorted((s.starts_on, ends) for s in sanctions
                   if s.kind == SUSPENSION and (ends := s.last_day) is not None and ends >= s.starts_on)
    grown = True
    while grown:
        grown = False
        for starts, ends in spans:
            if starts <= last + timedelta(days=1) and ends > last and ends >= first - timedelta(days=1):
                last, grown = ends, True
            if ends >= first - timedelta(days=1) and starts < first and starts <= last + timedelta(days=1):
                first, grown = starts, True
    return first, last


def outranked(timeline: Timeline, sanction: Sanction) -> bool:
    """Whether a suspension or warning never applies on its own: a termination is in force on
    every one of its days (it was called while the person was terminated and ends before they
    could register again). Notices and what-if summaries leave such a one out."""
    if sanction.kind == TERMINATION:
        return False
    last = sanction.last_day
    return any(t.kind == TERMINATION and t.starts_on <= sanction.starts_on
               and (t.last_day is None or (last is not None and last <= t.last_day))
               for t in timeline.sanctions)


def reconcile(recorded: Iterable[Sanction], derived: Iterable[Sanction]
              ) -> tuple[list[Sanction], list[Sanction], list[Sanction]]:
    """(to record, changed, to lift): derived sanctions the ledger lacks; derived ones the ledger
    holds with other terms (their new form); recorded ones that no longer hold."""
    by_key = {s.key: s for s in recorded}
    derived = list(derived)
    derived_keys = {s.key for s in derived}
    return (
        [s for s in derived if s.key not in by_key],
        [s for s in derived if s.key in by_key and s.terms != by_key[s.key].terms],
        [s for s in by_key.values() if s.key not in derived_keys],
    )


def reregistration_problem(timeline: Timeline, day: date) -> str | None:
    """Why the person may not re-register on ``day``, or None when they may."""
    current = [s for s in timeline.sanctions if s.kind == TERMINATION and s.ends_on is None]
    if not current:
        return "the practitioner is not terminated: there is nothing to re-register from"
    termination = current[-1]
    if day < _bar(termination):
        return f"re-registration is barred until {_bar(termination).isoformat()}"
    return None
