"""From a practitioner's ledger facts and the rulesets to their standing timeline. Pure.

The rules (domain.md, "Scoring rules"), every number taken from the rulesets:
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from app.scoring.rulesets import Ruleset

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
    def key(self) -> tuple:
        """What identifies a sanction as imposed; the effective end is derived, not part of it."""
        return (self.kind, self.trigger_entry_id, self.starts_on, self.imposed_until, self.bar_until)

    def applies_on(self, day: date) -> bool:
        last = self.ends_on if self.ends_on is not None else self.imposed_until
        return self.starts_on <= day and (last is None or day <= last)


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

    def to_json(self) -> dict:
        return {
            "registered_on": self.registered_on.isoformat(),
            "totals": {str(y): [[d.isoformat(), t] for d, t in v] for y, v in self.totals.items()},
            "repaired": {str(y): v for y, v in self.repaired.items()},
            "repair_effect": {str(k): v for k, v in self.repair_effect.items()},
            "sanctions": [_sanction_json(s) for s in self.sanctions],
            "reregistrations": [d.isoformat() for d in self.reregistrations],
        }

    @classmethod
    def from_json(cls, data: Mapping) -> Timeline:
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


def _sanction_json(s: Sanction) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(s).items()}


def _sanction_from_json(d: Mapping) -> Sanction:
    dates = {"starts_on", "imposed_until", "bar_until", "ends_on"}
    return Sanction(**{k: (date.fromisoformat(v) if k in dates and v else v) for k, v in d.items()})


def add_months(day: date, months: int) -> date:
    return day + relativedelta(months=months)


def months_last_day(starts_on: date, months: int) -> date:
    """The last day of a period of whole months that includes ``starts_on``: the day before the
    same day of the month ``months`` later, or that month's last day when it has no such day
    (民法典 art. 203: 没有对应日的，月末日为期间的最后一日). 31 January + 1 month ends on
    28 February, not 27: a short month never shortens a suspension by more than it must."""
    end = add_months(starts_on, months)
    return end if end.day < starts_on.day else end - timedelta(days=1)


def add_years(day: date, years: int) -> date:
    return day + relativedelta(years=years)


def derive(facts: Facts, rulesets: Mapping[str, Ruleset]) -> Timeline:
    timeline = Timeline(registered_on=facts.registered_on)
    # Same day: entries, then repairs (a repair cannot pre-empt the day's points), then registration.
    order = {"entry": 0, "repair": 1, "registration": 2}
    events: list[tuple[date, int, int, object]] = []
    events += [(e.on, order["entry"], e.id, e) for e in facts.entries]
    events += [(r.on, order["repair"], r.id, r) for r in facts.repairs]
    events += [(d, order["registration"], i, d) for i, d in enumerate(facts.reregistrations)]
    events.sort(key=lambda ev: ev[:3])

    totals: dict[int, int] = defaultdict(int)
    case_points: dict[int, int] = defaultdict(int)
    warned_years: set[int] = set()
    suspension: Sanction | None = None  # the running one
    termination: Sanction | None = None  # in force until re-registration
    sanctions: list[Sanction] = []

    def end(sanction: Sanction, last_day: date, reason: str) -> Sanction:
        index = sanctions.index(sanction)
        ended = _replace(sanction, ends_on=last_day, end_reason=reason)
        sanctions[index] = ended
        return ended

    for on, _kind, _id, fact in events:
        year = on.year
        if suspension is not None and suspension.imposed_until < on:
            suspension = None
        if isinstance(fact, Entry):
            rules = rulesets[fact.ruleset_id]
            before = totals[year]
            totals[year] += fact.points
            case_points[fact.case_id] += fact.points
            after = totals[year]
            timeline.totals.setdefault(year, []).append((on, after))
            if termination is not None:
                continue  # not registered: points count, no new sanction
            crossed = lambda threshold: before < threshold <= after  # noqa: E731
            if crossed(rules.thresholds.termination):
                single = case_points[fact.case_id] >= rules.thresholds.termination
                bar_years = (
                    rules.reregistration.bar_years_after_single_case
                    if single
                    else rules.reregistration.bar_years_after_accumulation
                )
                for running in [x for x in sanctions if x.kind == SUSPENSION and x.applies_on(on)]:
                    end(running, on - timedelta(days=1), "superseded by termination")
                for queued in [x for x in sanctions if x.kind == SUSPENSION and x.starts_on > on]:
                    end(queued, queued.starts_on - timedelta(days=1), "superseded by termination")
                suspension = None
                termination = Sanction(
                    kind=TERMINATION, trigger_entry_id=fact.id, starts_on=on, imposed_until=None,
                    bar_until=add_years(on, bar_years), year=year, total=after, ruleset_id=rules.id,
                )
                sanctions.append(termination)
            elif crossed(rules.thresholds.suspension):
                months = fact.suspension_months or rules.suspension_months(after)
                # One still running (from last year, across 1 January) is served first.
                starts = on if suspension is None else suspension.imposed_until + timedelta(days=1)
                suspension = Sanction(
                    kind=SUSPENSION, trigger_entry_id=fact.id, starts_on=starts,
                    imposed_until=months_last_day(starts, months), bar_until=None,
                    year=year, total=after, ruleset_id=rules.id, months=months,
                )
                sanctions.append(suspension)
            elif (
                rules.thresholds.warning is not None
                and crossed(rules.thresholds.warning)
                and year not in warned_years
                and after < rules.thresholds.suspension
            ):
                warned_years.add(year)
                sanctions.append(
                    Sanction(
                        kind=WARNING, trigger_entry_id=fact.id, starts_on=on, imposed_until=date(year, 12, 31),
                        bar_until=None, year=year, total=after, ruleset_id=rules.id,
                    )
                )
        elif isinstance(fact, Repair):
            rules = rulesets[fact.ruleset_id]
            room = rules.repair.yearly_cap - timeline.repaired.get(year, 0)
            effect = max(0, min(fact.points, room, totals[year]))
            timeline.repair_effect[fact.id] = effect
            if effect:
                totals[year] -= effect
                timeline.repaired[year] = timeline.repaired.get(year, 0) + effect
                timeline.totals.setdefault(year, []).append((on, totals[year]))
                if (
                    suspension is not None
                    and suspension.year == year  # only the total that imposed it can drop below
                    and rules.repair.lifts_sanction
                    and totals[year] < rulesets[suspension.ruleset_id].thresholds.suspension
                ):
                    end(suspension, on - timedelta(days=1), "repaired below the threshold")
                    # If it was queued behind last year's, that one still runs: new ones queue behind it.
                    suspension = next(
                        (s for s in reversed(sanctions)
                         if s.kind == SUSPENSION and s.ends_on is None and s.imposed_until >= on),
                        None,
                    )
        else:  # a re-registration
            timeline.reregistrations.append(fact)
            if termination is not None and termination.bar_until <= fact:
                end(termination, fact - timedelta(days=1), "re-registered")
                termination = None

    timeline.sanctions = sanctions
    return timeline


def _replace(sanction: Sanction, **changes) -> Sanction:
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
    suspension = next((s for s in in_force if s.kind == SUSPENSION), None)
    warning = next((s for s in in_force if s.kind == WARNING), None)
    if day < timeline.registered_on:
        status = NOT_REGISTERED
    elif termination is not None:
        status = TERMINATED
    elif suspension is not None:
        status = SUSPENDED
    else:
        status = ACTIVE
    binding = termination or suspension
    emergency = status == ACTIVE or (
        binding is not None and rulesets[binding.ruleset_id].emergency_exemption
    )
    return Standing(
        on=day,
        status=status,
        billing_allowed=status == ACTIVE,
        emergency_allowed=emergency,
        year=day.year,
        points=timeline.total_on(day),
        focused_supervision=warning is not None and status == ACTIVE,
        suspended_from=suspension.starts_on if suspension else None,
        suspended_until=(suspension.ends_on or suspension.imposed_until) if suspension else None,
        terminated_on=termination.starts_on if termination else None,
        reregistration_barred_until=termination.bar_until if termination else None,
    )


def reconcile(recorded: Iterable[Sanction], derived: Iterable[Sanction]) -> tuple[list[Sanction], list[Sanction]]:
    """(to record, to lift): derived sanctions the ledger lacks, recorded ones that no longer hold."""
    recorded = list(recorded)
    derived = list(derived)
    recorded_keys = {s.key for s in recorded}
    derived_keys = {s.key for s in derived}
    return [s for s in derived if s.key not in recorded_keys], [s for s in recorded if s.key not in derived_keys]


def reregistration_problem(timeline: Timeline, day: date) -> str | None:
    """Why the person may not re-register on ``day``, or None when they may."""
    current = [s for s in timeline.sanctions if s.kind == TERMINATION and s.ends_on is None]
    if not current:
        return "the practitioner is not terminated: there is nothing to re-register from"
    termination = current[-1]
    if day < termination.bar_until:
        return f"re-registration is barred until {termination.bar_until.isoformat()}"
    return None
