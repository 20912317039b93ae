"""Score cases, reversals, repairs, re-registrations and standing reads.

Each write is one transaction: lock the practitioners' rows (in id order, so two cases never
dead-lock), read their ledgers, let the pure ``standing`` module say what the new rows do,
append ledger rows (entries, sanctions, lifts), refresh the stored timeline, write events, commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app import audit
from app.auth.roles import Caller
from app.calendar import current as working_calendar
from app.dueprocess import machine
from app.dueprocess.models import Proposal
from app.kit.db import upsert_many
from app.kit.errors import Conflict, Invalid, NotFound, field_error
from app.kit.idempotency import request_hash
from app.kit.messages import from_text, t
from app.kit.observability import SANCTIONS_CREATED, count_on_commit
from app.kit.timeutil import local_date, utcnow
from app.practitioners import identity
from app.practitioners import service as practitioners
from app.practitioners.models import Practitioner
from app.referrals import service as referrals
from app.scoring import catalog, checks, ledger, standing
from app.scoring.models import LedgerRow, ScoreCase, StandingRecord
from app.scoring.rulesets import Ruleset, select_ruleset
from app.scoring.schemas import (
    PractitionerOutcome,
    PreviousTerms,
    RegistrationIn,
    RegistrationOut,
    RepairIn,
    RepairOut,
    ReversalOut,
    SanctionOut,
    ScoreCaseIn,
    ScoreCaseOut,
    StandingOut,
)
from app.shared import events, feed

ENTRY, REVERSAL, REPAIR, REGISTRATION, SANCTION, CHANGE, LIFT = (
    "entry", "reversal", "repair", "registration", "sanction", "sanction_change", "sanction_lift"
)


# ---------------------------------------------------------------- ledger -> facts -> timeline


def facts_from_rows(registered_on: date, rows: Sequence[ledger.Row]) -> standing.Facts:
    reversed_ids = {r.target_id for r in rows if r.kind == REVERSAL}
    entries, repairs, registrations = [], [], []
    for act in counting_acts(r for r in rows if r.kind == ENTRY and r.id not in reversed_ids).values():
        entries.append(act)
    for r in rows:
        if r.kind == REPAIR:
            repairs.append(standing.Repair(r.id, r.effective_on, r.points, r.ruleset_id))
        elif r.kind == REGISTRATION:
            registrations.append(r.effective_on)
    return standing.Facts(registered_on, tuple(entries), tuple(repairs), tuple(registrations))


def counting_acts(entry_rows) -> dict[int, standing.Entry]:
    """One act is scored once, at its highest rule: the entries of one case that name the same act
    count as one, with the highest points (the lowest id among equals) and the longest suspension
    any of them gave. By the id of the entry that counts."""
    acts: dict[tuple, list] = {}
    for r in entry_rows:
        details = json.loads(r.details)
        act = details.get("act")
        acts.setdefault((r.case_id, act) if act is not None else ("entry", r.id), []).append((r, details))
    counting = {}
    for group in acts.values():
        row, _details = max(group, key=lambda item: (item[0].points, -item[0].id))
        given = [d.get("suspension_months") for _r, d in group if d.get("suspension_months")]
        counting[row.id] = standing.Entry(row.id, row.case_id, row.effective_on, row.points, row.ruleset_id,
                                          max(given) if given else None)
    return counting


def recorded_sanctions(rows: Sequence[ledger.Row]) -> dict[int, standing.Sanction]:
    """Sanctions as the ledger last announced them (their latest change applied), not lifted,
    by the id of the row that recorded them."""
    lifted = {r.target_id for r in rows if r.kind == LIFT}
    current = {}
    for r in rows:
        if r.kind == SANCTION and r.id not in lifted:
            current[r.id] = standing._sanction_from_json(json.loads(r.details))
        elif r.kind == CHANGE and r.target_id in current:
            current[r.target_id] = standing._sanction_from_json(json.loads(r.details))
    return current


class Person:
    """One locked practitioner inside a write: ledger, timeline before, rows to append.

    ``rows`` (their ledger) may be read for many people at once (``people``); otherwise they are
    read here. ``practitioner`` is a ``Practitioner`` or a row with its columns (``lock_practitioners``)."""

    def __init__(self, session: Session, practitioner: Practitioner, rulesets: Mapping[str, Ruleset],
                 rows: list[ledger.Row] | None = None):
        self.session, self.practitioner, self.rulesets = session, practitioner, rulesets
        self.rows = ledger.rows_of(session, practitioner.id) if rows is None else rows
        self.standing_row: dict | None = None  # the standings row to write, set by ``settle``
        self.standing_row_json: str | None = None
        self.before = standing.derive(facts_from_rows(practitioner.registered_on, self.rows), rulesets)
        self.after = self.before
        self.created: list[tuple[ledger.Row, standing.Sanction]] = []
        # (sanction row id, new terms, terms as last announced, the change row)
        self.changed: list[tuple[int, standing.Sanction, standing.Sanction, ledger.Row]] = []
        self.lifted: list[tuple[int, standing.Sanction, str, ledger.Row]] = []  # (sanction row id, as lifted, why, the lift row)
        self._answers: dict[tuple[int, date], tuple[standing.Timeline, StandingOut]] = {}
        # Where the write's act happened, when not the home region: its subscribers hear of it too.
        self.acting_region: str | None = None

    def stage(self, rows: list[ledger.Row]) -> list[ledger.Row]:
        """Chain rows after this person's last one without writing them: ``ledger.insert`` writes
        the staged rows of many people in one statement and gives them their ids."""
        ledger.chain(self.rows[-1] if self.rows else None, rows)
        self.rows += rows
        return rows

    def append(self, rows: list[ledger.Row]) -> list[ledger.Row]:
        """Chain and write rows (their ids are known on return)."""
        return ledger.insert(self.session, self.stage(rows))

    def settle(self, client_id: int | None, lift_reason: str, *, write: bool = True) -> list[ledger.Row]:
        """Recompute from the ledger and announce what moved: record new sanctions, record the new
        terms of those that changed, lift those that no longer hold, store the timeline. The new
        facts are already appended (their ids known). Returns the rows it adds; with ``write=False``
        they and the timeline are only staged, for the caller to write (``ledger.insert``,
        ``store_timelines``) before reading the ids of ``created``, ``changed`` and ``lifted``."""
        self.after = standing.derive(facts_from_rows(self.practitioner.registered_on, self.rows), self.rulesets)
        recorded = recorded_sanctions(self.rows)
        by_key: dict[tuple, int] = {}
        duplicates = []  # recorded twice under one name (ledgers written before names were kind and trigger)
        for row_id, sanction in recorded.items():
            (duplicates.append((row_id, sanction)) if sanction.key in by_key else by_key.__setitem__(sanction.key, row_id))
        to_record, to_change, to_lift = standing.reconcile([recorded[i] for i in by_key.values()], self.after.sanctions)
        today = local_date()
        person = self.practitioner.id
        lifts = [(by_key[s.key], s) for s in to_lift] + duplicates
        lift_rows = [
            ledger.Row(practitioner_id=person, kind=LIFT, effective_on=today, target_id=row_id,
                       ruleset_id=s.ruleset_id, reason=lift_reason, client_id=client_id,
                       details=json.dumps({"kind": s.kind, "starts_on": s.starts_on.isoformat()}))
            for row_id, s in lifts
        ]
        change_rows = [
            ledger.Row(practitioner_id=person, kind=CHANGE, effective_on=today, target_id=by_key[s.key],
                       ruleset_id=s.ruleset_id, reason=lift_reason, client_id=client_id,
                       details=json.dumps(standing._sanction_json(s)))
            for s in to_change
        ]
        sanction_rows = [
            ledger.Row(practitioner_id=person, kind=SANCTION, effective_on=s.starts_on,
                       ruleset_id=s.ruleset_id, client_id=client_id, details=json.dumps(standing._sanction_json(s)))
            for s in to_record
        ]
        added = lift_rows + change_rows + sanction_rows
        self.stage(added)
        if write:
            ledger.insert(self.session, added)
        for sanction in to_record:
            count_on_commit(self.session, SANCTIONS_CREATED, kind=sanction.kind)
        self.lifted += [(row.target_id, s, lift_reason, row) for row, (_id, s) in zip(lift_rows, lifts)]
        self.changed += [(row.target_id, s, recorded[row.target_id], row) for row, s in zip(change_rows, to_change)]
        self.created += list(zip(sanction_rows, to_record))
        self.standing_row = standing_row(self.practitioner.id, self.after)
        self.standing_row_json = self.standing_row["timeline"]
        if write:
            store_timelines(self.session, [self])
        return added

    def sanctions_moved(self) -> dict[str, list[SanctionOut]]:
        """Every sanction this write created, changed or lifted, whatever its date."""
        return {
            "sanctions_created": [sanction_out(s, row.id) for row, s in self.created],
            "sanctions_changed": [sanction_out(s, rid, was=was) for rid, s, was, _row in self.changed],
            "sanctions_lifted": [sanction_out(s, rid, lifted=True, lift_reason=why) for rid, s, why, _row in self.lifted],
        }

    def year_totals(self, *years: int) -> dict[str, int]:
        """The totals after this write of the given years and of every year whose total it moved."""
        moved = {y for y in {*self.before.totals, *self.after.totals}
                 if self.before.year_total(y) != self.after.year_total(y)}
        return {str(y): self.after.year_total(y) for y in sorted(moved | set(years))}

    def outcome(self, *years: int) -> PractitionerOutcome:
        today = local_date()
        return PractitionerOutcome(
            practitioner=self.practitioner.code, year_totals=self.year_totals(*years),
            standing_before=self.standing_on(self.before, today), standing_after=self.standing_on(self.after, today),
            **self.sanctions_moved(),
        )

    def standing_on(self, timeline: standing.Timeline, day: date) -> StandingOut:
        # Remembered: a case decided today asks the same of the same timeline for its answer and
        # again for its events. Timelines are immutable; ``settle`` replaces ``after``.
        key = (id(timeline), day)
        answer = self._answers.get(key)
        if answer is None or answer[0] is not timeline:
            answer = self._answers[key] = (timeline, standing_out(self.practitioner, timeline, day, self.rulesets))
        return answer[1]

    def emit_changes(self, cause: str) -> None:
        """``standing.changed`` when sanctions were created, changed or lifted, or today's answer
        moved; the partner departments hear of each in the same transaction (联合惩戒)."""
        today = local_date()
        before, after = self.standing_on(self.before, today), self.standing_on(self.after, today)
        if not (self.created or self.changed or self.lifted) and before.status == after.status:
            return
        moved = self.sanctions_moved()
        events.emit(
            self.session, "standing.changed", subject=self.practitioner.code, region=self.practitioner.region,
            also_region=self.acting_region, data={
                "practitioner": self.practitioner.code, "cause": cause,
                "before": before.model_dump(mode="json"), "after": after.model_dump(mode="json"),
                **{k: [s.model_dump(mode="json") for s in v] for k, v in moved.items()},
            },
        )
        referrals.notify_sanctions(self.session, self.practitioner, self.created)
        # A suspension cut short by a termination needs no notice of its own: the termination's says it.
        referrals.notify_lifts(self.session, self.practitioner,
                               [(rid, s, row, True) for rid, s, _why, row in self.lifted]
                               + [(rid, s, row, False) for rid, s, _was, row in self.changed
                                  if s.end_reason != "superseded by termination"])


def standing_out(
    practitioner: Practitioner, timeline: standing.Timeline, day: date, rulesets: Mapping[str, Ruleset],
) -> StandingOut:
    st = standing.evaluate(timeline, day, rulesets)
    in_force = select_ruleset(list(rulesets.values()), practitioner.region, day)
    return StandingOut.model_validate(checks.answer(practitioner.code, st, in_force.id if in_force else None))


def sanction_out(s: standing.Sanction, row_id: int | None = None, *, lifted: bool = False,
                 lift_reason: str | None = None, was: standing.Sanction | None = None) -> SanctionOut:
    return SanctionOut(
        id=row_id, kind=s.kind, starts_on=s.starts_on, until=s.imposed_until, ends_on=s.ends_on,
        end_reason=s.end_reason, bar_until=s.bar_until, months=s.months, year_total=s.total,
        trigger_entry_id=s.trigger_entry_id, ruleset=s.ruleset_id, lifted=lifted, lift_reason=lift_reason,
        previous=PreviousTerms(starts_on=was.starts_on, until=was.imposed_until, ends_on=was.ends_on,
                               bar_until=was.bar_until) if was is not None else None,
    )


def people(session: Session, practitioners: Sequence, rulesets: Mapping[str, Ruleset]) -> list[Person]:
    """Practitioners locked by ``lock_practitioners`` as Persons, their ledgers read in one query."""
    rows = ledger.rows_of_many(session, [p.id for p in practitioners])
    return [Person(session, p, rulesets, rows[p.id]) for p in practitioners]


_STANDINGS = StandingRecord.__table__


def standing_row(practitioner_id: int, timeline: standing.Timeline) -> dict:
    """The ``standings`` row that stores a timeline: what ``settle`` writes, what ``ledger verify``
    expects and what its ``--repair-standings`` writes back."""
    first_year, last_year = timeline.years() or (None, None)
    return {"practitioner_id": practitioner_id, "timeline": json.dumps(timeline.to_json()),
            "first_year": first_year, "last_year": last_year, "updated_at": utcnow()}


def store_timelines(session: Session, persons: Sequence[Person]) -> None:
    """Write the timelines ``settle`` staged, stored or new, in one statement on the session's
    connection, like the ledger's rows."""
    settled = [p for p in persons if p.standing_row is not None]
    upsert_many(session.connection(), _STANDINGS, "practitioner_id", [p.standing_row for p in settled])
    feed.record(session.connection(), [p.practitioner.id for p in settled])  # for mirrors: the new timelines
    for person in settled:
        person.standing_row = None


_PRACTITIONERS = Practitioner.__table__
_LOCK = (
    select(*_PRACTITIONERS.c).where(_PRACTITIONERS.c.code.in_(bindparam("codes", expanding=True)))
    .order_by(_PRACTITIONERS.c.id).with_for_update()
)


def lock_practitioners(session: Session, codes: Sequence[str]) -> dict:
    """Lock the practitioners' rows in id order (PostgreSQL row locks; SQLite's write lock is
    already held from BEGIN IMMEDIATE). Rows with the ``practitioners`` columns as attributes, not
    ORM objects: writes only read them."""
    rows = session.connection().execute(_LOCK, {"codes": sorted(set(codes))}).all()
    return {p.code: p for p in rows}


# ---------------------------------------------------------------- score cases


_CASES = ScoreCase.__table__
_CASE_BY_REF = (
    select(_CASES.c.id, _CASES.c.case_ref, _CASES.c.request_hash, _CASES.c.response)
    .where(_CASES.c.client_id == bindparam("client"), _CASES.c.case_ref == bindparam("ref"))
)
_CASE_BY_REF_OR_KEY = (
    select(_CASES.c.id, _CASES.c.case_ref, _CASES.c.request_hash, _CASES.c.response)
    .where(_CASES.c.client_id == bindparam("client"),
           (_CASES.c.case_ref == bindparam("ref")) | (_CASES.c.idempotency_key == bindparam("key")))
)
_INSERT_CASE = insert(_CASES).returning(_CASES.c.id)
_STORE_ANSWER = update(_CASES).where(_CASES.c.id == bindparam("case")).values(response=bindparam("answer"))


def _existing_case(session: Session, client_id: int, case_ref: str, key: str | None):
    """The case this client already recorded under ``case_ref`` or ``key``: id, case_ref,
    request_hash and response, or None."""
    if key is None:
        return session.connection().execute(_CASE_BY_REF, {"client": client_id, "ref": case_ref}).first()
    return session.connection().execute(_CASE_BY_REF_OR_KEY, {"client": client_id, "ref": case_ref, "key": key}).first()


def replay(case, digest: str) -> str:
    """The stored answer of a case recorded before, if this request's ``digest`` is the first one's."""
    if case.request_hash != digest:
        raise Invalid(
            t("Case {case_ref} (id {id}) was already recorded with a different body; a repeat must be identical, a correction is a reversal and a new case", case_ref=case.case_ref, id=case.id),
            field="body", errors=[field_error("body", t("differs from the first request with this case_ref or Idempotency-Key"),
                                              "idempotency_conflict")],
        )
    return case.response


def record_case(session: Session, caller: Caller, body: ScoreCaseIn, idempotency_key: str | None) -> tuple[str, bool]:
    """(answer, created): the answer as stored (``ScoreCaseOut`` JSON), sent as it is. A repeat of an
    identical request returns the first answer, created=False."""
    digest = request_hash(body)
    existing = _existing_case(session, caller.client_id, body.case_ref, idempotency_key)
    if existing is not None:
        return replay(existing, digest), False
    try:
        answer = _record_case(session, caller, body, idempotency_key, digest).response
        session.commit()
        return answer, True
    except IntegrityError:
        # The same case raced us and committed first: answer as a repeat.
        session.rollback()
        existing = _existing_case(session, caller.client_id, body.case_ref, idempotency_key)
        if existing is None:
            raise
        return replay(existing, digest), False


def _record_case(session: Session, caller: Caller, body: ScoreCaseIn, key: str | None, digest: str) -> SimpleNamespace:
    rulesets = catalog.rulesets(session)
    locked = lock_practitioners(session, [e.practitioner for e in body.entries])
    working = practitioners.working_pairs(session, [body.institution], [p.id for p in locked.values()])
    plan = plan_case(caller, body, rulesets, locked, working, local_date())
    case = new_case(caller, body, plan, key, digest)
    # A plain INSERT, like the ledger's rows: the case is written once more, with its answer, below.
    case.id = session.connection().execute(_INSERT_CASE, case_row(case)).scalar_one()
    if plan.notified_on is not None:
        results = _propose(session, case, body, locked, rulesets, plan.ruleset, plan.points, plan.notified_on)
        outcomes = []
    else:
        [(results, outcomes)] = count_cases(session, caller, [(case, body, plan.points)], persons_of(session, locked, rulesets))
    case.response = case_answer(case, body, results, outcomes)
    session.connection().execute(_STORE_ANSWER, {"case": case.id, "answer": case.response})
    audit.record_many(session, caller, [case_audit(case, body, plan.points)])
    return case


@dataclass(frozen=True)
class CasePlan:
    """What a case's validation found: its region, the ruleset in force, each entry's points, and the
    day the person was notified (``procedure`` "notify") or None (the entries count at once)."""

    region: str
    ruleset: Ruleset
    points: list[int]
    notified_on: date | None


def plan_case(caller: Caller, body: ScoreCaseIn, rulesets: Mapping[str, Ruleset], locked: Mapping[str, Any],
              working: set[tuple[str, int]], today: date) -> CasePlan:
    """Check a case against the rules and the registry, reading nothing: ``locked`` are its
    practitioners by code (``lock_practitioners``), ``working`` the (institution, practitioner id)
    pairs of who works where. Raises ``Invalid`` naming every field at fault."""
    region = identity.institution_region(body.institution)
    errors = []
    if not caller.covers(region):
        errors.append(field_error("body.institution", t("institution region {region} is outside your region {caller_region}", region=region, caller_region=caller.region)))
    if body.decision_date > today:
        errors.append(field_error("body.decision_date", t("is in the future")))
    ruleset = select_ruleset(list(rulesets.values()), region, body.decision_date)
    if ruleset is None:
        errors.append(field_error("body.decision_date", t("no ruleset is in force for {region} on that date", region=region)))
    points: list[int] = []
    for i, entry in enumerate(body.entries):
        where = f"body.entries.{i}"
        person = locked.get(entry.practitioner)
        if person is None:
            errors.append(field_error(f"{where}.practitioner", t("no practitioner {practitioner} is registered", practitioner=entry.practitioner)))
        elif not (caller.covers(person.region) or (body.institution, person.id) in working):
            # The bureau where the act happened scores: a person registered elsewhere who works at
            # the case's institution; anyone else of another region is not theirs to score.
            errors.append(field_error(
                f"{where}.practitioner", t("{practitioner} is registered in {region} and does not work at {institution}: only their home region's bureau, or one where they work, may score them", practitioner=entry.practitioner, region=person.region, institution=body.institution)))
        if ruleset is None:
            continue
        if ruleset.violation(entry.violation_type) is None:
            errors.append(field_error(f"{where}.violation_type", t("unknown in ruleset {id}", id=ruleset.id)))
            continue
        band = ruleset.band_for(entry.violation_type, entry.circumstances)
        if entry.points is not None and not band.min <= entry.points <= band.max:
            errors.append(field_error(f"{where}.points", t("{points} is outside the band {name} ({min}-{max})", points=entry.points, name=band.name, min=band.min, max=band.max)))
        points.append(entry.points if entry.points is not None else band.points[entry.tier])
        months = entry.suspension_months
        if months is not None and not ruleset.suspension.min_months <= months <= ruleset.suspension.max_months:
            errors.append(field_error(
                f"{where}.suspension_months",
                t("must be {min_months}-{max_months} under {id}", min_months=ruleset.suspension.min_months, max_months=ruleset.suspension.max_months, id=ruleset.id)))
    errors += _act_problems(body)
    notified_on = (body.notified_on or today) if body.procedure == "notify" else None
    if notified_on is not None and not body.decision_date <= notified_on <= today:
        errors.append(field_error("body.notified_on", t("must lie between the decision date and today")))
    if errors:
        raise Invalid(t("Case {case_ref} is not acceptable; nothing was recorded", case_ref=body.case_ref), errors=errors)
    return CasePlan(region, ruleset, points, notified_on)


def new_case(caller: Caller, body: ScoreCaseIn, plan: CasePlan, key: str | None, digest: str) -> SimpleNamespace:
    """A case to insert, as plain attributes (``case_row`` gives its columns): an ORM object cost
    a tenth of a single-entry case."""
    return SimpleNamespace(
        id=None, client_id=caller.client_id, case_ref=body.case_ref, idempotency_key=key, request_hash=digest,
        basis=body.basis.value, decision_number=body.decision_number, decision_date=body.decision_date,
        institution_code=body.institution, region=plan.region,
        amount_involved=str(body.amount_involved) if body.amount_involved is not None else None,
        ruleset_id=plan.ruleset.id, response="{}", created_at=utcnow(),
    )


_CASE_COLUMNS = tuple(name for name in _CASES.c.keys() if name != "id")


def case_row(case: SimpleNamespace) -> dict:
    return {name: getattr(case, name) for name in _CASE_COLUMNS}


def case_answer(case: SimpleNamespace, body: ScoreCaseIn, results: list[dict], outcomes: list) -> str:
    """The answer to a case, as stored for its repeats (``ScoreCaseOut`` JSON)."""
    return ScoreCaseOut(
        id=case.id, case_ref=case.case_ref, basis=body.basis, decision_number=case.decision_number,
        decision_date=case.decision_date, institution=case.institution_code, region=case.region,
        amount_involved=body.amount_involved, ruleset=case.ruleset_id, created_at=case.created_at, entries=results,
        outcomes=outcomes,
    ).model_dump_json()


def case_audit(case: SimpleNamespace, body: ScoreCaseIn, points: list[int]) -> audit.Entry:
    return audit.Entry("score_case.create", "score_case", case.id, case.region, {
        "case_ref": case.case_ref, "decision_number": case.decision_number, "procedure": body.procedure,
        "entries": [{"practitioner": e.practitioner, "violation_type": e.violation_type, "points": p}
                    for e, p in zip(body.entries, points)],
    })


def _act_problems(body: ScoreCaseIn) -> list[dict]:
    """One act is scored once: a practitioner with several entries in a case must say which act
    each scores, so that rules broken by one act count once, at the highest, and separate acts add up."""
    problems = []
    by_person: dict[str, list[int]] = {}
    for i, e in enumerate(body.entries):
        by_person.setdefault(e.practitioner, []).append(i)
    for code, indices in by_person.items():
        if len(indices) < 2:
            continue
        seen: dict[tuple, int] = {}
        for i in indices:
            entry = body.entries[i]
            if entry.act is None:
                problems.append(field_error(
                    f"body.entries.{i}.act",
                    t("{code} has {count} entries in this case: name the act each one scores (entries of one act share it and count once, at the highest points)", code=code, count=len(indices))))
                continue
            key = (entry.act, entry.violation_type)
            if key in seen:
                problems.append(field_error(f"body.entries.{i}.violation_type",
                                            t("repeats entry {entry}: the same rule for the same act", entry=seen[key])))
            seen.setdefault(key, i)
    return problems


def entry_row(person: Practitioner, case: ScoreCase, entry, points: int, effective_on: date, client_id: int | None,
              counted_from: date, proposal_id: int | None = None) -> ledger.Row:
    """The ledger row of a counting entry. ``counted_from`` is the day it began to count here,
    from which the appeal window runs."""
    return ledger.Row(**entry_fields(person, case, entry, points, effective_on, client_id, counted_from, proposal_id))


def entry_fields(person, case, entry, points: int, effective_on: date, client_id: int | None, counted_from: date,
                 proposal_id: int | None = None) -> dict:
    """``entry_row``'s fields as a dict (bench/generate.py writes millions of them without the model)."""
    details = {"suspension_months": entry.suspension_months, "decision_number": case.decision_number,
               "counted_from": counted_from.isoformat()}
    if getattr(entry, "act", None) is not None:
        details["act"] = entry.act
    if proposal_id is not None:
        details["proposal_id"] = proposal_id
    return dict(
        practitioner_id=person.id, kind=ENTRY, effective_on=effective_on, points=points, case_id=case.id,
        violation_type=entry.violation_type, tier=entry.tier, circumstances=entry.circumstances,
        ruleset_id=case.ruleset_id, client_id=client_id, details=json.dumps(details),
        reference=f"proposal:{proposal_id}" if proposal_id is not None else None,
    )


def emit_recorded(session: Session, person: Person, case: ScoreCase, row: ledger.Row) -> None:
    events.emit_many(session, [recorded_event(person, case, row)])


def recorded_event(person: Person, case: ScoreCase, row: ledger.Row) -> dict:
    """``score.recorded`` of a counting entry, for ``events.emit_many``."""
    return {"type": "score.recorded", "subject": person.practitioner.code, "region": person.practitioner.region,
            "also_region": case.region,
            "data": {"entry_id": row.id, "case_id": case.id, "case_ref": case.case_ref,
                     "practitioner": person.practitioner.code, "violation_type": row.violation_type,
                     "points": row.points, "effective_on": row.effective_on, "year": row.effective_on.year,
                     "year_total": person.after.year_total(row.effective_on.year)}}


def _propose(session, case, body, people, rulesets, ruleset, points, notified_on) -> list[dict]:
    """procedure "notify": the entries wait as proposals; nothing counts yet. Under a ruleset that
    counts a confirmed entry from its confirmation, the year it will count in is not known yet."""
    due = machine.defence_deadline(notified_on, ruleset, working_calendar.for_storing(session))
    from_decision = ruleset.defence.effective_from == "decision"
    year = body.decision_date.year if from_decision else None
    results = []
    for i, e in enumerate(body.entries):
        practitioner = people[e.practitioner]
        proposal = Proposal(
            case_id=case.id, position=i, practitioner_id=practitioner.id, region=practitioner.region,
            violation_type=e.violation_type, tier=e.tier, circumstances=e.circumstances, points=points[i],
            suspension_months=e.suspension_months, ruleset_id=ruleset.id, notified_on=notified_on,
            defence_deadline=due.day, defence_deadline_provisional=due.provisional, act=e.act,
        )
        session.add(proposal)
        session.flush()
        timeline = _stored_timeline(session, practitioner)
        current = standing_out(practitioner, timeline, body.decision_date, rulesets)
        results.append({
            "id": None, "status": "proposed", "proposal_id": proposal.id, "defence_deadline": due.day,
            "defence_deadline_provisional": due.provisional,
            "practitioner": e.practitioner, "act": e.act, "violation_type": e.violation_type, "tier": e.tier,
            "circumstances": e.circumstances, "points": points[i],
            "counts_from": ruleset.defence.effective_from, "year": year,
            "year_total": timeline.year_total(year if year is not None else local_date().year),
            "standing_before": current, "standing_after": current, "sanctions_created": [],
        })
        events.emit(session, "score.proposed", subject=e.practitioner, region=practitioner.region, data={
            "proposal_id": proposal.id, "case_id": case.id, "case_ref": case.case_ref,
            "practitioner": e.practitioner, "violation_type": e.violation_type, "points": points[i],
            "notified_on": notified_on, "defence_deadline": due.day,
            "defence_deadline_provisional": due.provisional,
        })
    return results


def persons_of(session: Session, locked: Mapping[str, Any], rulesets: Mapping[str, Ruleset]) -> dict[str, Person]:
    """Locked practitioners (``lock_practitioners``) as Persons by code, their ledgers read in one query."""
    return {p.practitioner.code: p for p in people(session, sorted(locked.values(), key=lambda p: p.id), rulesets)}


def count_cases(session: Session, caller: Caller, cases: Sequence[tuple[Any, ScoreCaseIn, list[int]]],
                persons: Mapping[str, Person]) -> list[tuple[list[dict], list[PractitionerOutcome]]]:
    """procedure "completed": the entries of each (case, body, points) count at once from its
    decision date. Returns, per case, its entry results and each practitioner's outcome.

    The cases have no practitioner in common (a person's rows must follow their previous case's),
    so all their ledgers are read in one query (``persons``) and their new rows inserted in one
    statement per table: a case of 100 people, or 100 cases of one, is a handful of statements."""
    today = local_date()
    staged = []
    for case, body, points in cases:
        by_code: dict[str, list[int]] = {}
        for i, e in enumerate(body.entries):
            by_code.setdefault(e.practitioner, []).append(i)
        # Each case's people in id order, as they were locked: their rows, outcomes and events follow it.
        indices = {code: by_code[code] for code in sorted(by_code, key=lambda c: persons[c].practitioner.id)}
        entry_rows: dict[int, ledger.Row] = {}
        for code, mine in indices.items():
            person = persons[code]
            rows = person.stage([entry_row(person.practitioner, case, body.entries[i], points[i], body.decision_date,
                                           caller.client_id, today) for i in mine])
            entry_rows.update(zip(mine, rows))
        staged.append((case, body, indices, entry_rows))
    # Their ids first: sanctions name the entry that triggered them.
    ledger.insert(session, [row for *_, entry_rows in staged for row in entry_rows.values()])
    involved = [persons[code] for *_, indices, _rows in staged for code in indices]
    settled = [person.settle(caller.client_id, "recomputed after a new case", write=False) for person in involved]
    ledger.insert(session, [row for rows in settled for row in rows])  # their ids, for the answer and the events
    store_timelines(session, involved)

    answers, recorded = [], []
    for case, body, indices, entry_rows in staged:
        year = body.decision_date.year
        results = []
        for code in indices:
            person = persons[code]
            counting = counting_acts(entry_rows[i] for i in indices[code])
            mine = {entry_rows[i].id for i in indices[code]}
            for n, i in enumerate(indices[code]):
                row, e = entry_rows[i], body.entries[i]
                # The person's first entry also carries what the case created through their older entries.
                created = [sanction_out(s, r.id) for r, s in person.created
                           if s.trigger_entry_id == row.id or (n == 0 and s.trigger_entry_id not in mine)]
                results.append((i, {
                    "id": row.id, "status": "counted" if row.id in counting else "absorbed",
                    "practitioner": e.practitioner, "act": e.act, "violation_type": e.violation_type, "tier": e.tier,
                    "circumstances": e.circumstances, "points": row.points, "counts_from": "decision", "year": year,
                    "year_total": person.after.year_total(year),
                    "standing_before": person.standing_on(person.before, body.decision_date),
                    "standing_after": person.standing_on(person.after, body.decision_date),
                    "sanctions_created": created,
                }))
        recorded += [recorded_event(persons[e.practitioner], case, entry_rows[i]) for i, e in enumerate(body.entries)]
        answers.append(([result for _i, result in sorted(results, key=lambda r: r[0])],
                        [persons[code].outcome(year) for code in indices]))
    events.emit_many(session, recorded)
    for case, _body, indices, _rows in staged:
        for code in indices:
            person = persons[code]
            person.acting_region = case.region
            person.emit_changes(f"case {case.id}")
    return answers


def get_case(session: Session, caller: Caller, case_id: int) -> ScoreCaseOut:
    case = session.get(ScoreCase, case_id)
    if case is None or not caller.covers(case.region):
        raise NotFound(t("No score case {case_id} in your region", case_id=case_id))
    out = ScoreCaseOut.model_validate_json(case.response)
    # The answer as recorded, but with the defence deadlines in force: loading a calendar year
    # may have settled or extended them since (app/dueprocess/service.py recompute_deadlines).
    if any(e.proposal_id is not None for e in out.entries):
        deadlines = {p.id: (p.defence_deadline, p.defence_deadline_provisional)
                     for p in session.exec(select(Proposal).where(Proposal.case_id == case.id))}
        for entry in out.entries:
            if entry.proposal_id in deadlines:
                entry.defence_deadline, entry.defence_deadline_provisional = deadlines[entry.proposal_id]
    return out


# ---------------------------------------------------------------- reversals, repairs, registrations


def locked_person(session: Session, caller: Caller, code: str) -> Person:
    practitioner = practitioners.get_in_scope(session, caller, code, for_update=True)
    return Person(session, practitioner, catalog.rulesets(session))


def reverse_entry(session: Session, caller: Caller, entry_id: int, reason: str) -> tuple[ReversalOut, bool]:
    """(answer, created). Reversing an entry twice returns the first reversal."""
    entry = session.get(LedgerRow, entry_id)
    owner = session.get(Practitioner, entry.practitioner_id) if entry is not None and entry.kind == ENTRY else None
    case = session.get(ScoreCase, entry.case_id) if owner is not None else None
    # The home region's bureau, or the bureau of the region where the case was decided.
    if owner is None or not (caller.covers(owner.region) or caller.covers(case.region)):
        raise NotFound(t("No score entry {entry_id} in your region", entry_id=entry_id))
    person = Person(session, lock_practitioners(session, [owner.code])[owner.code], catalog.rulesets(session))
    person.acting_region = case.region
    previous = next((r for r in person.rows if r.kind == REVERSAL and r.target_id == entry_id), None)
    if previous is not None:
        return _reversal_out(person, previous, entry_id), False
    answer = append_reversal(person, caller.client_id, entry_id, reason)
    audit.record(session, caller, "score_entry.reverse", "score_entry", entry_id, owner.region, {
        "practitioner": owner.code, "reason": reason, "year_total": answer.year_total})
    session.commit()
    return answer, True


def append_reversal(person: Person, client_id: int, entry_id: int, reason: str) -> ReversalOut:
    """Reverse an entry of a locked practitioner inside the caller's transaction (no commit)."""
    owner = person.practitioner
    row = ledger.Row(practitioner_id=owner.id, kind=REVERSAL, effective_on=local_date(), target_id=entry_id,
                    reason=reason, client_id=client_id)
    person.append([row])
    person.settle(client_id, f"entry {entry_id} reversed: {reason}")
    answer = _reversal_out(person, row, entry_id)
    events.emit(person.session, "score.reversed", subject=owner.code, region=owner.region,
                also_region=person.acting_region, data={
        "reversal_id": row.id, "entry_id": entry_id, "practitioner": owner.code, "reason": reason,
        "year_total": answer.year_total,
    })
    person.emit_changes(f"reversal of entry {entry_id}")
    return answer


def _reversal_out(person: Person, row: ledger.Row, entry_id: int) -> ReversalOut:
    year = next(r.effective_on for r in person.rows if r.id == entry_id).year
    return ReversalOut(
        id=row.id, entry_id=entry_id, practitioner=person.practitioner.code, reason=row.reason,
        effective_on=row.effective_on, year_total=person.after.year_total(year), year_totals=person.year_totals(year),
        standing=person.standing_on(person.after, local_date()), **person.sanctions_moved(),
    )


def record_repair(session: Session, caller: Caller, code: str, body: RepairIn) -> tuple[RepairOut, bool]:
    person = locked_person(session, caller, code)
    practitioner = person.practitioner
    previous = next((r for r in person.rows if r.kind == REPAIR and r.reference == body.reference), None)
    if previous is not None:
        same = (json.loads(previous.details).get("activity"), previous.effective_on) == (body.activity, body.occurred_on)
        if not same:
            raise Conflict(t("Reference {reference} was already used for another repair", reference=body.reference))
        return _repair_out(person, previous), False
    errors = []
    if body.occurred_on > local_date():
        errors.append(field_error("body.occurred_on", t("is in the future")))
    ruleset = select_ruleset(list(person.rulesets.values()), practitioner.region, body.occurred_on)
    if ruleset is None:
        errors.append(field_error("body.occurred_on", t("no ruleset is in force for {region} on that date", region=practitioner.region)))
    elif body.activity not in ruleset.repair.activities:
        errors.append(field_error("body.activity", t("must be one of {choices} under {id}", choices=list(ruleset.repair.activities), id=ruleset.id)))
    if errors:
        raise Invalid(t("Repair not acceptable; nothing was recorded"), errors=errors)
    row = ledger.Row(practitioner_id=practitioner.id, kind=REPAIR, effective_on=body.occurred_on,
                    points=ruleset.repair.points_per_activity, ruleset_id=ruleset.id, reference=body.reference,
                    client_id=caller.client_id, details=json.dumps({"activity": body.activity}))
    person.append([row])
    person.settle(caller.client_id, "recomputed after a repair")
    if person.after.repair_effect.get(row.id, 0) == 0:
        year = body.occurred_on.year
        why = (t("the yearly repair cap of {cap} points is reached for {year}", cap=ruleset.repair.yearly_cap, year=year)
               if person.after.repaired.get(year, 0) >= ruleset.repair.yearly_cap
               else t("there are no points to repair in {year}", year=year))
        raise Invalid(t("Repair not acceptable: {why}; nothing was recorded", why=why), field="body.occurred_on")
    person.emit_changes("repair")
    audit.record(session, caller, "practitioner.repair", "practitioner", code, practitioner.region, {
        "activity": body.activity, "reference": body.reference, "points_removed": person.after.repair_effect[row.id]})
    session.commit()
    return _repair_out(person, row), True


def _repair_out(person: Person, row: ledger.Row) -> RepairOut:
    return RepairOut(
        id=row.id, practitioner=person.practitioner.code, activity=json.loads(row.details)["activity"],
        occurred_on=row.effective_on, reference=row.reference, points_removed=person.after.repair_effect.get(row.id, 0),
        year_total=person.after.year_total(row.effective_on.year), ruleset=row.ruleset_id,
        standing=person.standing_on(person.after, local_date()), **person.sanctions_moved(),
    )


def record_registration(session: Session, caller: Caller, code: str, body: RegistrationIn) -> RegistrationOut:
    person = locked_person(session, caller, code)
    problem = standing.reregistration_problem(person.before, body.registered_on)
    if problem:
        raise Conflict(t("{code}: {problem}", code=code, problem=from_text(problem)))
    if body.registered_on > local_date():
        raise Invalid(t("is in the future"), field="body.registered_on")
    row = ledger.Row(practitioner_id=person.practitioner.id, kind=REGISTRATION, effective_on=body.registered_on,
                    client_id=caller.client_id)
    person.append([row])
    person.settle(caller.client_id, "recomputed after re-registration")
    person.emit_changes("re-registration")
    audit.record(session, caller, "practitioner.reregister", "practitioner", code, person.practitioner.region,
                 {"registered_on": body.registered_on})
    session.commit()
    return RegistrationOut(id=row.id, practitioner=code, registered_on=body.registered_on,
                           standing=person.standing_on(person.after, local_date()), **person.sanctions_moved())


def recompute_all(batch: int = 200) -> tuple[int, int]:
    """Derive every practitioner's timeline again under the current rules and announce what moved,
    as a write would: after an upgrade that changes the rules (docs/rules.md). One transaction per
    practitioner, under their lock. Returns (practitioners read, practitioners whose sanctions or
    stored standing changed)."""
    from app.kit.db import write_session  # a job, not a request: it opens its own sessions

    last_id, seen, moved = 0, 0, 0
    while True:
        with write_session() as session:
            ids = session.exec(select(Practitioner.id).where(Practitioner.id > last_id)
                               .order_by(Practitioner.id).limit(batch)).all()
        if not ids:
            return seen, moved
        last_id = ids[-1]
        for practitioner_id in ids:
            with write_session() as session:
                code = session.get(Practitioner, practitioner_id).code
                person = Person(session, lock_practitioners(session, [code])[code], catalog.rulesets(session))
                stored = session.get(StandingRecord, practitioner_id)
                person.settle(None, "recomputed under the current rules")
                seen += 1
                if person.created or person.changed or person.lifted or stored is None or (
                        stored.timeline != person.standing_row_json):
                    moved += 1
                person.emit_changes("rules recomputed")
                session.commit()


# ---------------------------------------------------------------- reads


def _timeline(registered_on: date, stored: str | None) -> standing.Timeline:
    return standing.Timeline.from_json(json.loads(stored)) if stored else standing.Timeline(registered_on=registered_on)


def _stored_timeline(session: Session, practitioner: Practitioner) -> standing.Timeline:
    record = session.get(StandingRecord, practitioner.id)
    return _timeline(practitioner.registered_on, record.timeline if record else None)
