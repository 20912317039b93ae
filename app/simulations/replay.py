"""What a draft ruleset would have done to one practitioner's year, and the counts over many. Pure.

The live side is the practitioner's ledger facts as the service reads them (reversed entries left
out), judged by the stored rulesets. The draft side is the same facts with the simulated year's
entries and repairs re-pointed under the draft wherever the draft would govern them; earlier
years stay as recorded, so suspensions and terminations carried into the year weigh the same on
both sides. Both sides go through ``standing.derive`` and ``standing.evaluate``, the functions the
live service uses, so a draft identical to the ruleset in force changes nothing.

Which entries the draft governs: the draft is taken to be in force from 1 January of the
simulated year, and an entry is re-pointed when ``select_ruleset`` would pick the draft for its
case's region and date among the stored rulesets (a stored ruleset of the draft's own id is the
one it replaces). So a national draft does not touch a province that has its own rules, exactly
as a new national ruleset would not.

Re-pointing an entry: a responsibility tier takes the draft's points for the violation's band
(moved by circumstances where the draft shifts bands). Explicit points (an entry without a tier,
or whose points differ from what its tier gave when it was recorded) stay when they lie inside
the draft's band. Where the draft cannot place an entry (its violation type is not in the draft's
catalogue, its explicit points lie outside the draft's band, its bureau-given suspension months
lie outside the draft's range) the recorded value stands and the entry is listed. Repairs take
the draft's points per activity and yearly cap; a repair whose activity the draft does not list
keeps its recorded points and is listed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from app.scoring import standing
from app.scoring.rulesets import Band, Ruleset, select_ruleset

# Never a stored id (those match ^[a-z0-9-]+$), so a draft that keeps the id of the ruleset it
# revises cannot be mistaken for it.
DRAFT_ID = "(draft)"

NONE = "none"
OUTCOMES = (NONE, standing.WARNING, standing.SUSPENSION, standing.TERMINATION)  # ascending severity
# The direction of a change compares the heaviest sanction the year brings on each side. Where it
# is the same but its dates or length differ, the person is "unchanged" with ``terms_changed``:
# comparing days or the status on one day instead would call a one-month suspension in May
# stricter than one in September, or a shorter suspension that starts earlier either way.
STRICTER, MORE_LENIENT, UNCHANGED = "stricter", "more_lenient", "unchanged"

# Why the draft could not place a recorded entry or repair.
VIOLATION_UNKNOWN = "violation_type_unknown"
POINTS_OUTSIDE_BAND = "points_outside_band"
MONTHS_OUTSIDE_RANGE = "suspension_months_outside_range"
ACTIVITY_UNKNOWN = "repair_activity_unknown"


class LedgerFact(Protocol):
    """A ledger row with its case's region: what the replay reads beyond ``standing.Facts``."""

    id: int
    kind: str
    points: int | None
    violation_type: str | None
    tier: str | None
    circumstances: str | None
    ruleset_id: str | None
    details: str
    case_id: int | None
    case_region: str | None


@dataclass(frozen=True)
class Person:
    practitioner_id: int
    code: str
    region: str
    rows: Sequence[Any]  # LedgerFact-shaped rows: entries, reversals, repairs, registrations
    facts: standing.Facts  # the same rows as the live service reads them


class Plan:
    """The draft, the stored rulesets, and the simulated year."""

    def __init__(self, draft: Ruleset, stored: Mapping[str, Ruleset], year: int, as_of: date):
        self.year, self.as_of = year, as_of
        self.original = draft
        self.draft = draft.model_copy(update={"id": DRAFT_ID, "effective_from": date(year, 1, 1)})
        self.stored = dict(stored)
        self.rulesets = {**self.stored, DRAFT_ID: self.draft}
        # The draft first: where it ties with a stored ruleset of its level from the same day, it wins.
        self._candidates = [self.draft] + [r for r in self.stored.values() if r.id != draft.id]
        self._governs: dict[tuple[str, date], bool] = {}
        # Catalogue look-ups scan lists; a region's year asks the same few questions many times.
        self._draft_bands: dict[tuple[str, str | None], Band | None] = {}
        self._tier_points: dict[tuple[str, str, str, str | None], int | None] = {}

    def governs(self, region: str, on: date) -> bool:
        key = (region, on)
        if key not in self._governs:
            chosen = select_ruleset(self._candidates, region, on)
            self._governs[key] = chosen is not None and chosen.id == DRAFT_ID
        return self._governs[key]

    def in_year(self, day: date) -> bool:
        return day.year == self.year

    def draft_band(self, violation: str, circumstances: str | None) -> Band | None:
        """The draft's band for a violation (None when the draft does not know it)."""
        key = (violation, circumstances)
        if key not in self._draft_bands:
            known = self.draft.violation(violation) is not None
            self._draft_bands[key] = self.draft.band_for(violation, circumstances) if known else None
        return self._draft_bands[key]

    def tier_points(self, ruleset_id: str, violation: str, tier: str, circumstances: str | None) -> int | None:
        """The points a tier gave under a stored ruleset (None when it does not know the violation)."""
        key = (ruleset_id, violation, tier, circumstances)
        if key not in self._tier_points:
            judged = self.stored.get(ruleset_id)
            known = judged is not None and judged.violation(violation) is not None
            self._tier_points[key] = judged.points(violation, tier, circumstances) if known else None
        return self._tier_points[key]


@dataclass(frozen=True)
class Unplaced:
    """A recorded entry or repair the draft cannot place as it was decided."""

    row_id: int
    kind: str  # entry | repair
    effective_on: date
    reason: str
    detail: str
    recorded_points: int
    violation_type: str | None = None
    tier: str | None = None
    circumstances: str | None = None
    case_id: int | None = None

    def as_dict(self, code: str) -> dict:
        return {
            "row_id": self.row_id, "kind": self.kind, "code": code, "effective_on": self.effective_on.isoformat(),
            "case_id": self.case_id, "violation_type": self.violation_type, "tier": self.tier,
            "circumstances": self.circumstances, "recorded_points": self.recorded_points,
            "reason": self.reason, "detail": self.detail,
        }


@dataclass
class Side:
    """One practitioner's year under one set of rules."""

    points: int
    repaired: int
    status: str
    outcome: str  # the heaviest sanction the year's total triggered (and that applied for a day)
    suspended_from: date | None
    suspended_until: date | None
    terminated_on: date | None
    sanctions: list[standing.Sanction]

    @property
    def rank(self) -> int:
        return OUTCOMES.index(self.outcome)

    @property
    def terms(self) -> list[tuple]:
        return [(s.kind, s.starts_on, _last_day(s), s.months) for s in self.sanctions]

    def as_dict(self) -> dict:
        return {
            "points": self.points, "repaired": self.repaired, "status": self.status, "outcome": self.outcome,
            "suspended_from": _iso(self.suspended_from), "suspended_until": _iso(self.suspended_until),
            "terminated_on": _iso(self.terminated_on),
            "sanctions": [
                {"kind": s.kind, "starts_on": s.starts_on.isoformat(), "last_day": _iso(_last_day(s)),
                 "months": s.months, "year_total": s.total, "reregistration_from": _iso(s.bar_until)}
                for s in self.sanctions
            ],
        }


@dataclass
class Result:
    person: Person
    live: Side
    draft: Side
    change: str
    entries: int  # the year's standing entries
    repointed: int  # of which the draft governs
    points_changed: int  # of which the draft gives other points
    unplaced: list[Unplaced] = field(default_factory=list)

    @property
    def terms_changed(self) -> bool:
        """The same heaviest sanction on both sides, but not on the same dates or for as long."""
        return self.change == UNCHANGED and self.live.terms != self.draft.terms

    def as_dict(self) -> dict:
        return {
            "code": self.person.code, "region": self.person.region, "change": self.change,
            "terms_changed": self.terms_changed, "points_delta": self.draft.points - self.live.points,
            "live": self.live.as_dict(), "draft": self.draft.as_dict(),
        }


def replay(person: Person, plan: Plan) -> Result | None:
    """Both sides of one practitioner's year, or None when no entry of the year stands."""
    live = person.facts
    year_entries = [e for e in live.entries if plan.in_year(e.on)]
    if not year_entries:
        return None
    rows = {r.id: r for r in person.rows}
    unplaced: list[Unplaced] = []
    repointed = changed = 0
    entries = []
    for entry in live.entries:
        row = rows[entry.id]
        if not plan.in_year(entry.on) or not plan.governs(row.case_region or person.region, entry.on):
            entries.append(entry)
            continue
        repointed += 1
        moved = _repoint_entry(entry, row, plan, unplaced)
        changed += moved.points != entry.points
        entries.append(moved)
    repairs = [
        _repoint_repair(r, rows[r.id], plan, unplaced)
        if plan.in_year(r.on) and plan.governs(person.region, r.on) else r
        for r in live.repairs
    ]
    draft = replace(live, entries=tuple(entries), repairs=tuple(repairs))
    live_side = _side(standing.derive(live, plan.stored), plan.stored, plan)
    draft_side = _side(standing.derive(draft, plan.rulesets), plan.rulesets, plan)
    if draft_side.rank > live_side.rank:
        change = STRICTER
    elif draft_side.rank < live_side.rank:
        change = MORE_LENIENT
    else:
        change = UNCHANGED
    return Result(person, live_side, draft_side, change, len(year_entries), repointed, changed, unplaced)


def _explicit(row: LedgerFact, plan: Plan) -> bool:
    """Whether the bureau gave the points rather than a tier: no tier, or points other than the
    tier gave under the ruleset that judged the entry."""
    if row.tier is None:
        return True
    given = plan.tier_points(row.ruleset_id, row.violation_type, row.tier, row.circumstances)
    return given is None or given != row.points


def _repoint_entry(entry: standing.Entry, row: LedgerFact, plan: Plan, unplaced: list[Unplaced]) -> standing.Entry:
    draft = plan.draft

    def cannot(reason: str, detail: str) -> None:
        unplaced.append(Unplaced(entry.id, "entry", entry.on, reason, detail, entry.points, row.violation_type,
                                 row.tier, row.circumstances, row.case_id))

    points = entry.points
    band = plan.draft_band(row.violation_type, row.circumstances)
    if band is None:
        cannot(VIOLATION_UNKNOWN, f"{row.violation_type} is not in the draft's catalogue; "
                                  f"the recorded {entry.points} points stand")
    else:
        if not _explicit(row, plan):
            points = band.points[row.tier]
        elif not band.min <= entry.points <= band.max:
            cannot(POINTS_OUTSIDE_BAND, f"explicit {entry.points} points lie outside the draft's band "
                                        f"{band.code} ({band.min}-{band.max}); the recorded points stand")
    months = entry.suspension_months
    rule = draft.suspension
    if months is not None and not rule.min_months <= months <= rule.max_months:
        cannot(MONTHS_OUTSIDE_RANGE, f"the bureau's {months} months of suspension lie outside the draft's "
                                     f"{rule.min_months}-{rule.max_months}; the draft's months by total apply")
        months = None
    return replace(entry, points=points, ruleset_id=DRAFT_ID, suspension_months=months)


def _repoint_repair(repair: standing.Repair, row: LedgerFact, plan: Plan, unplaced: list[Unplaced]) -> standing.Repair:
    activity = json.loads(row.details or "{}").get("activity")
    if activity not in plan.draft.repair.activities:
        unplaced.append(Unplaced(repair.id, "repair", repair.on, ACTIVITY_UNKNOWN,
                                 f"the draft does not list the activity {activity}; the recorded "
                                 f"{repair.points} points stand", repair.points))
        return replace(repair, ruleset_id=DRAFT_ID)
    return replace(repair, points=plan.draft.repair.points_per_activity, ruleset_id=DRAFT_ID)


def _side(timeline: standing.Timeline, rulesets: Mapping[str, Ruleset], plan: Plan) -> Side:
    st = standing.evaluate(timeline, plan.as_of, rulesets)
    # Sanctions the year's total triggered and that applied for at least a day (a queued one lifted
    # before it began never did, nor one a termination outranked throughout).
    sanctions = [s for s in timeline.sanctions
                 if s.year == plan.year and (s.ends_on is None or s.ends_on >= s.starts_on)
                 and not standing.outranked(timeline, s)]
    outcome = max((s.kind for s in sanctions), key=OUTCOMES.index, default=NONE)
    return Side(
        points=timeline.total_on(plan.as_of), repaired=timeline.repaired.get(plan.year, 0), status=st.status,
        outcome=outcome, suspended_from=st.suspended_from, suspended_until=st.suspended_until,
        terminated_on=st.terminated_on, sanctions=sanctions,
    )


def _last_day(s: standing.Sanction) -> date | None:
    return s.ends_on if s.ends_on is not None else s.imposed_until


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class Summary:
    """Counts kept while results stream past: people by band, sanctions, changes, unplaced."""

    def __init__(self, plan: Plan, live_bands: Ruleset | None, people_in_region: int):
        self.plan = plan
        self.live_bands = live_bands  # the ruleset in force for the region on the as-of day
        self.people_in_region = people_in_region
        self.people = 0
        self.entries = self.repointed = self.points_changed = self.unplaced = 0
        self.bands = {"live": Counter(), "draft": Counter()}
        self.outcomes = {"live": Counter(), "draft": Counter()}
        self.statuses = {"live": Counter(), "draft": Counter()}
        self.changes: Counter[str] = Counter()
        self.points_up = self.points_down = self.terms_changed = 0

    def add(self, result: Result) -> None:
        self.people += 1
        self.entries += result.entries
        self.repointed += result.repointed
        self.points_changed += result.points_changed
        self.unplaced += len(result.unplaced)
        self.changes[result.change] += 1
        self.terms_changed += result.terms_changed
        self.points_up += result.draft.points > result.live.points
        self.points_down += result.draft.points < result.live.points
        for name, side, bands in (("live", result.live, self.live_bands), ("draft", result.draft, self.plan.draft)):
            band = bands.band_of_total(side.points) if bands is not None else None
            if band is not None:
                self.bands[name][band.code] += 1
            for kind in {s.kind for s in side.sanctions}:
                self.outcomes[name][kind] += 1
            self.statuses[name][side.status] += 1

    def _side(self, name: str, ruleset: Ruleset | None) -> dict:
        return {
            "ruleset": ruleset.id if ruleset is not None and ruleset.id != DRAFT_ID else None,
            "by_points": [{"band": b.code, "name": b.name, "min": b.min, "max": b.max, "people": self.bands[name][b.code]}
                          for b in (ruleset.bands if ruleset is not None else [])],
            "warned": self.outcomes[name][standing.WARNING],
            "suspended": self.outcomes[name][standing.SUSPENSION],
            "terminated": self.outcomes[name][standing.TERMINATION],
            "status_on_as_of": {s: self.statuses[name][s] for s in
                                (standing.ACTIVE, standing.SUSPENDED, standing.TERMINATED, standing.NOT_REGISTERED)},
        }

    def as_dict(self) -> dict:
        return {
            "as_of": self.plan.as_of.isoformat(),
            "people_in_region": self.people_in_region,
            "people_scored": self.people,
            "entries": self.entries,
            "entries_governed_by_draft": self.repointed,
            "entries_with_other_points": self.points_changed,
            "unplaced": self.unplaced,
            "live": self._side("live", self.live_bands),
            "draft": {**self._side("draft", self.plan.draft), "ruleset": self.plan.original.id},
            "changes": {STRICTER: self.changes[STRICTER], MORE_LENIENT: self.changes[MORE_LENIENT],
                        UNCHANGED: self.changes[UNCHANGED], "terms_changed": self.terms_changed,
                        "points_up": self.points_up,
                        "points_down": self.points_down},
        }
