"""Referrals (双向移送): create, post lifecycle events, read, yearly figures, joint-sanction
notices, overdue reports.

Which side a caller is on decides what it may do (machine.py); the region and, for a partner,
its department decide what it may see: anything else is a 404. A write locks the referral row,
so two partners posting from the same state cannot both succeed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import audit
from app.auth.roles import Caller, Role
from app.calendar import current as working_calendar
from app.kit.errors import Conflict, Forbidden, IllegalTransition, Invalid, NotFound, field_error
from app.kit.idempotency import request_hash
from app.kit.messages import t
from app.kit.timeutil import local_date, utcnow
from app.practitioners import service as practitioners
from app.practitioners.models import Practitioner
from app.referrals import deadlines, machine
from app.referrals.machine import Action, Kind, Side, State
from app.referrals.models import Referral, ReferralEvent, ReferralOverdue, ReferralSubject
from app.referrals.schemas import (
    BUREAU,
    PENALTIES,
    DeadlineOut,
    Direction,
    EventIn,
    EventOut,
    EvidenceOut,
    OutcomeIn,
    OutcomeOut,
    PenaltyKind,
    ReferralIn,
    ReferralOut,
    StatsOut,
    StatsRow,
)
from app.scoring.models import LedgerRow, ScoreCase
from app.settings import Department, get_settings
from app.shared import events, regions
from app.shared.workdays import Calendar

# ---------------------------------------------------------------- configuration


def departments() -> dict[str, Department]:
    """The departments switched on, by code."""
    settings = get_settings()
    return {code: settings.department_catalog[code] for code in settings.departments}


def limits() -> deadlines.Limits:
    s = get_settings()
    return deadlines.Limits(s.referral_receipt_working_days, s.referral_filing_working_days,
                            s.referral_extension_working_days, s.referral_conclusion_days)


# ---------------------------------------------------------------- scope


def side_of(referral: Referral, caller: Caller) -> Side | None:
    """The caller's side of the referral, or None when it may not see it (a draft is the
    sender's alone)."""
    if not caller.covers(referral.region):
        return None
    outbound = referral.direction == Direction.outbound
    if caller.role == Role.bureau:
        side = Side.sender if outbound else Side.recipient
    elif caller.role == Role.partner and caller.department == referral.department:
        side = Side.recipient if outbound else Side.sender
    else:
        return None
    if side == Side.recipient and referral.status == State.draft:
        return None
    return side


def _scope_clause(caller: Caller):
    """SQL for side_of(...) is not None."""
    clauses = [regions.within(Referral.region, caller.region)]
    if caller.role == Role.bureau:
        hidden = Direction.inbound
    else:
        clauses.append(Referral.department == caller.department)
        hidden = Direction.outbound
    clauses.append(or_(Referral.direction != hidden, Referral.status != State.draft))
    return clauses


def _get(session: Session, caller: Caller, referral_id: int, *, for_update: bool = False) -> tuple[Referral, Side]:
    stmt = select(Referral).where(Referral.id == referral_id)
    if for_update:
        stmt = stmt.with_for_update()
    referral = session.exec(stmt).first()
    side = side_of(referral, caller) if referral is not None else None
    if side is None:
        raise NotFound(t("No referral {referral_id} for you", referral_id=referral_id))
    return referral, side


# ---------------------------------------------------------------- create


def create(session: Session, caller: Caller, body: ReferralIn, idempotency_key: str | None = None,
           today: date | None = None) -> tuple[ReferralOut, bool]:
    """(answer, created): a new draft; a repeat with the same Idempotency-Key returns the first."""
    today = today or local_date()
    digest = request_hash(body)
    if idempotency_key is not None:
        existing = _by_key(session, caller, idempotency_key)
        if existing is not None:
            return _replay(session, caller, existing, digest, today), False
    try:
        referral = _create(session, caller, body, idempotency_key, digest, today)
        session.commit()
    except IntegrityError:
        session.rollback()  # the same key raced us and committed first
        existing = _by_key(session, caller, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replay(session, caller, existing, digest, today), False
    return describe(session, caller, referral, today, history=True), True


def _by_key(session: Session, caller: Caller, key: str) -> Referral | None:
    sender = (Referral.sender_user_id == caller.user_id if caller.user_id is not None
              else Referral.sender_client_id == caller.api_client_id)
    return session.exec(select(Referral).where(sender, Referral.idempotency_key == key)).first()


def _replay(session: Session, caller: Caller, referral: Referral, digest: str, today: date) -> ReferralOut:
    if referral.request_hash != digest:
        raise Invalid(t("This Idempotency-Key was already used with a different body; nothing was changed"),
                      errors=[field_error("header.Idempotency-Key", t("used before with a different body"),
                                          "idempotency_conflict")])
    return describe(session, caller, referral, today, history=True)


def _create(session: Session, caller: Caller, body: ReferralIn, key: str | None, digest: str,
            today: date) -> Referral:
    enabled = departments()
    errors = []
    if caller.role == Role.bureau:
        direction, department = Direction.outbound, body.recipient
        if department not in enabled:
            errors.append(field_error("body.recipient", t("must be one of {choices}", choices=list(enabled))))
    else:
        direction, department = Direction.inbound, caller.department
        if department not in enabled:
            raise Forbidden(t("Department {department} is not switched on for referrals", department=department))
        if body.recipient != BUREAU:
            errors.append(field_error("body.recipient", t("a partner department sends to '{bureau}'", bureau=BUREAU)))
    if not caller.covers(body.region):
        errors.append(field_error("body.region", t("outside your region {region}", region=caller.region)))
    if department in enabled and body.clue_category not in enabled[department].clue_categories:
        errors.append(field_error("body.clue_category",
                                  t("{department} takes {categories}", department=department, categories=list(enabled[department].clue_categories))))
    if not body.institutions and not body.practitioners:
        errors.append(field_error("body.institutions", t("name at least one institution or practitioner")))
    if caller.covers(body.region):
        errors += practitioners.reference_problems(session, body.region, body.practitioners, body.institutions, "body")
    if body.score_case_id is not None:
        case = session.get(ScoreCase, body.score_case_id)
        if caller.role != Role.bureau or case is None or not caller.covers(case.region):
            errors.append(field_error("body.score_case_id", t("no such score case in your region")))
    on = body.on or today
    if on > today:
        errors.append(field_error("body.on", t("is in the future")))
    if errors:
        raise Invalid(t("Referral not acceptable; nothing was stored"), errors=errors)
    referral = Referral(
        kind=body.kind, direction=direction, department=department, region=body.region, status=State.draft,
        clue_category=body.clue_category, summary=body.summary,
        evidence=json.dumps([e.model_dump() for e in body.evidence]), score_case_id=body.score_case_id,
        sender_client_id=caller.api_client_id, sender_user_id=caller.user_id, idempotency_key=key,
        request_hash=digest,
    )
    _insert(session, referral, body.institutions, body.practitioners, caller.api_client_id, on, caller.user_id)
    audit.record(session, caller, "referral.create", "referral", referral.id, referral.region, {
        "kind": referral.kind, "direction": referral.direction, "department": referral.department,
        "clue_category": referral.clue_category, "practitioners": sorted(set(body.practitioners)),
        "institutions": sorted(set(body.institutions))})
    return referral


def _insert(session: Session, referral: Referral, institutions: Iterable[str], practitioners: Iterable[str],
            client_id: int | None, on: date, user_id: int | None = None) -> Referral:
    session.add(referral)
    session.flush()
    _add_subjects(session, referral.id, institutions, practitioners, "subject")
    _history(session, referral, None, None, State.draft, Side.sender, client_id, on, user_id=user_id)
    events.emit(session, "referral.created", subject=f"referral:{referral.id}", region=referral.region,
                department=_event_department(referral), data={
                    "referral_id": referral.id, "kind": referral.kind, "direction": referral.direction,
                    "department": referral.department, "status": referral.status,
                    "clue_category": referral.clue_category, "institutions": sorted(set(institutions)),
                    "practitioners": sorted(set(practitioners)), "score_case_id": referral.score_case_id,
                    "sanction_id": referral.sanction_id,
                })
    return referral


def _event_department(referral: Referral) -> str | None:
    # An outbound draft is the bureau's own business: its department hears of it when it is sent.
    if referral.direction == Direction.outbound and referral.status == State.draft:
        return None
    return referral.department


def _add_subjects(session: Session, referral_id: int, institutions: Iterable[str], practitioners: Iterable[str],
                  role: str) -> None:
    have = {(s.kind, s.code) for s in session.exec(
        select(ReferralSubject).where(ReferralSubject.referral_id == referral_id, ReferralSubject.role == role))}
    wanted = {("institution", c) for c in institutions} | {("practitioner", c) for c in practitioners}
    for kind, code in sorted(wanted - have):
        session.add(ReferralSubject(referral_id=referral_id, kind=kind, code=code, role=role))


def _last_step(session: Session, referral_id: int) -> int:
    return session.exec(select(func.coalesce(func.max(ReferralEvent.seq), 0))
                        .where(ReferralEvent.referral_id == referral_id)).one()


def _history(session: Session, referral: Referral, action: Action | None, from_state: State | None,
             to_state: State, side: Side, client_id: int | None, on: date, reason: str | None = None,
             outcome: dict | None = None, user_id: int | None = None) -> ReferralEvent:
    seq = _last_step(session, referral.id) + 1
    row = ReferralEvent(referral_id=referral.id, seq=seq, action=action or "create", from_state=from_state,
                        to_state=to_state, side=side, client_id=client_id, user_id=user_id, occurred_on=on,
                        reason=reason,
                        outcome=json.dumps(outcome, ensure_ascii=False) if outcome is not None else None)
    session.add(row)
    return row


# ---------------------------------------------------------------- lifecycle events


def post_event(session: Session, caller: Caller, referral_id: int, body: EventIn,
               today: date | None = None, *, after_step: int | None = None) -> ReferralOut:
    """Apply one lifecycle action under a row lock; 409 naming the allowed actions otherwise.

    ``after_step``: the history step the caller last saw; when another step came since, the
    action is refused (409) even where it is still allowed, so a form sent twice or from a stale
    page does not act twice (a second reminder, say).
    """
    today = today or local_date()
    referral, side = _get(session, caller, referral_id, for_update=True)
    kind, state, action = Kind(referral.kind), State(referral.status), body.type
    used = frozenset({Action.extend}) if referral.extended_on else frozenset()
    try:
        to_state = machine.next_state(state, action, side, kind, used)
    except machine.NotAllowed as exc:
        raise IllegalTransition(t("Referral {id}", id=referral.id), state.value, action.value, exc.allowed) from None
    if after_step is not None:
        last_step = _last_step(session, referral.id)
        if last_step != after_step:
            raise Conflict(t("Referral {id} has changed since step {after_step} (it is at step {last_step}); nothing was changed", id=referral.id, after_step=after_step, last_step=last_step), step=last_step)
    on = body.on or today
    _check_event(session, referral, body, on, today)
    outcome = _outcome_json(body.outcome) if body.outcome is not None else None
    if action == Action.send:
        referral.year = referral.year or on.year
        referral.sent_on, referral.received_on, referral.extended_on = on, None, None
    elif action == Action.receive:
        referral.received_on = on
    elif action == Action.extend:
        referral.extended_on = on
    elif action == Action.file:
        referral.filed_on = on
    elif action == Action.decline:
        referral.declined_on = on
    elif action == Action.conclude:
        referral.concluded_on = on
        referral.outcome = json.dumps(outcome, ensure_ascii=False)
        _add_subjects(session, referral.id, body.outcome.institutions, body.outcome.practitioners, "outcome")
    referral.status = to_state
    referral.updated_at = utcnow()
    session.add(referral)
    _history(session, referral, action, state, to_state, side, caller.api_client_id, on, body.reason, outcome,
             user_id=caller.user_id)
    events.emit(session, "referral.status_changed", subject=f"referral:{referral.id}", region=referral.region,
                department=referral.department, data={
                    "referral_id": referral.id, "kind": referral.kind, "direction": referral.direction,
                    "department": referral.department, "action": action.value, "from": state.value,
                    "to": to_state.value, "side": side.value, "occurred_on": on, "reason": body.reason,
                    "outcome": outcome,
                })
    audit.record(session, caller, f"referral.{action.value}", "referral", referral.id, referral.region, {
        "from": state.value, "to": to_state.value, "side": side.value, "occurred_on": on, "reason": body.reason,
        "outcome": outcome})
    session.commit()
    return describe(session, caller, referral, today, history=True)


def _check_event(session: Session, referral: Referral, body: EventIn, on: date, today: date) -> None:
    errors = []
    if body.type in machine.NEEDS_REASON and body.reason is None:
        errors.append(field_error("body.reason", t("'{type}' needs a reason", type=body.type)))
    if body.type in machine.NEEDS_OUTCOME and body.outcome is None:
        errors.append(field_error("body.outcome", t("'{type}' needs the outcome", type=body.type)))
    if body.type not in machine.NEEDS_OUTCOME and body.outcome is not None:
        errors.append(field_error("body.outcome", t("only '{action}' carries an outcome", action=Action.conclude)))
    last = session.exec(select(func.max(ReferralEvent.occurred_on))
                        .where(ReferralEvent.referral_id == referral.id)).one()
    if on > today:
        errors.append(field_error("body.on", t("is in the future")))
    elif last is not None and on < last:
        errors.append(field_error("body.on", t("is before the referral's previous step")))
    if body.outcome is not None:
        errors += _outcome_problems(body.outcome, referral, today)
        errors += practitioners.reference_problems(session, referral.region, body.outcome.practitioners,
                                                   body.outcome.institutions, "body.outcome")
    if errors:
        raise Invalid(t("Event on referral {id} not acceptable; nothing was changed", id=referral.id), errors=errors)


def _outcome_problems(outcome: OutcomeIn, referral: Referral, today: date) -> list[dict]:
    where, kinds, errors = "body.outcome", set(outcome.penalty_kinds), []
    if PenaltyKind.no_violation_found in kinds and len(kinds) > 1:
        errors.append(field_error(f"{where}.penalty_kinds", t("no_violation_found excludes every other kind")))
    for kind, field in ((PenaltyKind.fine, "fine_amount"), (PenaltyKind.confiscation, "confiscated_amount")):
        amount = getattr(outcome, field)
        if kind in kinds and not amount:
            errors.append(field_error(f"{where}.{field}", t("a {kind} needs its amount", kind=kind)))
        if kind not in kinds and amount is not None:
            errors.append(field_error(f"{where}.{field}", t("only with the penalty kind '{kind}'", kind=kind)))
    if kinds & PENALTIES and outcome.decision_number is None:
        errors.append(field_error(f"{where}.decision_number", t("a penalty needs its decision number")))
    if outcome.decision_date > today:
        errors.append(field_error(f"{where}.decision_date", t("is in the future")))
    elif referral.filed_on is not None and outcome.decision_date < referral.filed_on:
        errors.append(field_error(f"{where}.decision_date", t("is before the case was filed")))
    return errors


def _outcome_json(outcome: OutcomeIn) -> dict:
    data = outcome.model_dump(mode="json")
    data["with_penalty"] = bool(set(outcome.penalty_kinds) & PENALTIES)
    return data


# ---------------------------------------------------------------- reads


def _deadline(referral: Referral, today: date, calendar: Calendar) -> tuple[DeadlineOut | None, bool]:
    kind, state = Kind(referral.kind), State(referral.status)
    due = deadlines.current(kind, state, sent_on=referral.sent_on, received_on=referral.received_on,
                            filed_on=referral.filed_on, extended=referral.extended_on is not None,
                            limits=limits(), calendar=calendar)
    if due is None:
        return None, False
    problem = None
    if due.provisional:  # a window is months long at most: the year it ends in, or the one before
        year = due.due_on.year if not calendar.covers(due.due_on.year) else due.due_on.year - 1
        problem = f"the official holidays of {year} are not loaded yet: counted with weekends only"
    return DeadlineOut(kind=due.kind, due_on=due.due_on, provisional=due.provisional, problem=problem), due.missed(today)


def _subjects(session: Session, ids: Sequence[int]) -> dict[int, dict[tuple[str, str], list[str]]]:
    out: dict[int, dict[tuple[str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    if ids:
        for s in session.exec(select(ReferralSubject).where(col(ReferralSubject.referral_id).in_(ids))
                              .order_by(ReferralSubject.code)):
            out[s.referral_id][(s.role, s.kind)].append(s.code)
    return out


def describe(session: Session, caller: Caller, referral: Referral, today: date, *, history: bool = False,
             subjects: dict | None = None) -> ReferralOut:
    side = side_of(referral, caller)
    subjects = subjects if subjects is not None else _subjects(session, [referral.id])
    own = subjects.get(referral.id, {})
    deadline, overdue = _deadline(referral, today, working_calendar.calendar(session))
    used = frozenset({Action.extend}) if referral.extended_on else frozenset()
    outbound = referral.direction == Direction.outbound
    dept = get_settings().department_catalog.get(referral.department)
    steps = None
    if history:
        steps = [
            EventOut(seq=e.seq, action=e.action, from_state=e.from_state, to_state=e.to_state, side=e.side,
                     client_id=e.client_id, user_id=e.user_id, occurred_on=e.occurred_on, reason=e.reason,
                     outcome=OutcomeOut(**json.loads(e.outcome)) if e.outcome else None, recorded_at=e.recorded_at)
            for e in session.exec(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
                                  .order_by(ReferralEvent.seq))
        ]
    return ReferralOut(
        id=referral.id, kind=referral.kind, direction=referral.direction,
        sender=BUREAU if outbound else referral.department, recipient=referral.department if outbound else BUREAU,
        department=referral.department, department_name=dept.name if dept else None,
        region=referral.region, region_name=regions.division_name(referral.region), status=referral.status,
        clue_category=referral.clue_category, summary=referral.summary,
        institutions=own.get(("subject", "institution"), []), practitioners=own.get(("subject", "practitioner"), []),
        evidence=[EvidenceOut(**e) for e in json.loads(referral.evidence)], score_case_id=referral.score_case_id,
        sanction_id=referral.sanction_id, year=referral.year, sent_on=referral.sent_on,
        received_on=referral.received_on, extended_on=referral.extended_on, filed_on=referral.filed_on,
        declined_on=referral.declined_on, concluded_on=referral.concluded_on,
        outcome=OutcomeOut(**json.loads(referral.outcome)) if referral.outcome else None,
        deadline=deadline, overdue=overdue, your_side=side,
        allowed_actions=machine.allowed(State(referral.status), side, Kind(referral.kind), used),
        created_at=referral.created_at, updated_at=referral.updated_at, history=steps,
    )


def awaiting_recipient(session: Session, caller: Caller, today: date | None = None,
                       limit: int | None = None) -> tuple[list[ReferralOut], bool]:
    """Referrals addressed to the caller that still owe it a step (sent, received, filed):
    overdue first, then by the deadline, nearest first, at most ``limit`` (default: a page,
    APP_MAX_PAGE_SIZE). Returns (items, whether more were left out)."""
    today = today or local_date()
    limit = limit or get_settings().max_page_size
    # A bureau receives what departments send (inbound); a department what the bureau sends.
    towards_caller = Direction.inbound if caller.role == Role.bureau else Direction.outbound
    rows = session.exec(select(Referral).where(*_scope_clause(caller), Referral.direction == towards_caller,
                                               col(Referral.status).in_(machine.PENDING))).all()
    calendar = working_calendar.calendar(session)
    due = {r.id: _deadline(r, today, calendar) for r in rows}

    def urgency(r: Referral):
        deadline, overdue = due[r.id]
        return (not overdue, deadline.due_on if deadline and deadline.due_on else date.max, r.id)

    rows = sorted(rows, key=urgency)
    subjects = _subjects(session, [r.id for r in rows[:limit]])
    return [describe(session, caller, r, today, subjects=subjects) for r in rows[:limit]], len(rows) > limit


def get(session: Session, caller: Caller, referral_id: int, today: date | None = None) -> ReferralOut:
    referral, _side = _get(session, caller, referral_id)
    return describe(session, caller, referral, today or local_date(), history=True)


def _check_region(caller: Caller, region: str | None, field: str) -> str:
    region = region or caller.region
    if not caller.covers(region):
        raise Invalid(t("Region {region} is outside your region {caller_region}", region=region, caller_region=caller.region), field=field)
    return region


def list_referrals(session: Session, caller: Caller, *, direction: str | None = None,
                   department: str | None = None, status: str | None = None, kind: str | None = None,
                   region: str | None = None, year: int | None = None, overdue: bool | None = None,
                   today: date | None = None, limit: int = 100, cursor: int | None = None,
                   ) -> tuple[list[ReferralOut], int | None]:
    """Keyset pages by id. ``overdue`` is computed per row, so it filters after the query."""
    today = today or local_date()
    region = _check_region(caller, region, "query.region")
    stmt = select(Referral).where(*_scope_clause(caller), regions.within(Referral.region, region))
    for column, value in ((Referral.direction, direction), (Referral.department, department),
                          (Referral.status, status), (Referral.kind, kind), (Referral.year, year)):
        if value is not None:
            stmt = stmt.where(column == value)
    if overdue:
        stmt = stmt.where(col(Referral.status).in_(machine.PENDING))
    if cursor is not None:
        stmt = stmt.where(Referral.id > cursor)
    stmt = stmt.order_by(Referral.id)
    if overdue is None:
        rows = list(session.exec(stmt.limit(limit + 1)))
    else:
        calendar = working_calendar.calendar(session)
        rows = [r for r in session.exec(stmt) if _deadline(r, today, calendar)[1] == overdue][: limit + 1]
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    rows = rows[:limit]
    subjects = _subjects(session, [r.id for r in rows])
    return [describe(session, caller, r, today, subjects=subjects) for r in rows], next_cursor


# ---------------------------------------------------------------- yearly figures


def stats(session: Session, caller: Caller, year: int, region: str | None = None,
          as_of: date | None = None) -> StatsOut:
    """The yearly table (by department and direction) for a region and the regions below it.

    A referral counts in the year it was first sent; ``overdue`` is judged on ``as_of``.
    Joint-sanction notices are counted apart: they are not case clues.
    """
    as_of = as_of or local_date()
    region = _check_region(caller, region, "query.region")
    rows = session.exec(select(Referral).where(*_scope_clause(caller), regions.within(Referral.region, region),
                                               Referral.year == year)).all()
    catalog = get_settings().department_catalog
    calendar = working_calendar.calendar(session)
    codes = list(departments()) + sorted({r.department for r in rows} - set(departments()))
    table: dict[tuple[str, str], dict] = {}
    for code in codes:
        for direction in Direction:
            table[(code, direction)] = dict(
                department=code, department_name=catalog[code].name if code in catalog else code,
                direction=direction, sent=0, received=0, filed=0, not_filed=0, concluded_with_penalty=0,
                concluded_without_penalty=0, pending=0, overdue=0, returned=0, withdrawn=0,
                fine_amount=Decimal("0.00"), confiscated_amount=Decimal("0.00"), notifications=0)
    for r in rows:
        t = table[(r.department, r.direction)]
        if r.kind == Kind.notification:
            t["notifications"] += 1
            continue
        outcome = json.loads(r.outcome) if r.outcome else None
        t["sent"] += 1
        t["received"] += r.received_on is not None
        t["filed"] += r.filed_on is not None
        t["not_filed"] += r.declined_on is not None
        if outcome is not None:
            t["concluded_with_penalty" if outcome["with_penalty"] else "concluded_without_penalty"] += 1
            t["fine_amount"] += Decimal(outcome["fine_amount"] or "0")
            t["confiscated_amount"] += Decimal(outcome["confiscated_amount"] or "0")
        if r.status in machine.PENDING:
            t["pending"] += 1
            t["overdue"] += _deadline(r, as_of, calendar)[1]
        t["returned"] += r.status == State.returned
        t["withdrawn"] += r.status == State.withdrawn
    return StatsOut(year=year, region=region, region_name=regions.division_name(region), as_of=as_of,
                    rows=[StatsRow(**t) for t in table.values()])


# ---------------------------------------------------------------- joint sanction (联合惩戒)

SANCTION_KINDS = {"suspension": "暂停", "termination": "终止"}


def notify_sanctions(session: Session, practitioner: Practitioner, created: Sequence[tuple[LedgerRow, object]]) -> list[Referral]:
    """In the scoring transaction: a notice to each department notified of this practitioner's
    category, for every suspension or termination just recorded. It is sent at once and is
    closed by its receipt. ``created``: (sanction ledger row, standing.Sanction) pairs."""
    made = []
    today = local_date()
    for row, sanction in created:
        if sanction.kind not in SANCTION_KINDS:
            continue
        trigger = session.get(LedgerRow, sanction.trigger_entry_id)
        case = session.get(ScoreCase, trigger.case_id) if trigger is not None and trigger.case_id else None
        # The partners of the home region, and of the region where the act happened if another.
        notified_regions = dict.fromkeys([practitioner.region, *([case.region] if case is not None else [])])
        until = f"至 {sanction.imposed_until.isoformat()}" if sanction.imposed_until else ""
        summary = (f"联合惩戒通知: {practitioner.name[:1]}某 ({practitioner.code}) 医保支付资格"
                   f"{SANCTION_KINDS[sanction.kind]}, 自 {sanction.starts_on.isoformat()} {until}".strip())
        for (code, dept), region in ((d, r) for d in departments().items() for r in notified_regions):
            if practitioner.category not in dept.notified_of_sanctions:
                continue
            referral = Referral(
                kind=Kind.notification, direction=Direction.outbound, department=code, region=region,
                status=State.sent, clue_category="joint_sanction", summary=summary,
                score_case_id=trigger.case_id if trigger else None, sanction_id=row.id,
                sender_client_id=row.client_id, year=today.year, sent_on=today,
            )
            _insert(session, referral, [], [practitioner.code], row.client_id, today)
            _history(session, referral, Action.send, State.draft, State.sent, Side.sender, row.client_id, today)
            made.append(referral)
    return made


def notify_lifts(session: Session, practitioner: Practitioner, moved: Sequence[tuple[int, object, LedgerRow, bool]]) -> list[Referral]:
    """In the scoring transaction: the departments that were sent the joint-sanction notice of a
    sanction hear of its lift (解除) or of its new dates (变更), each once, by a notice like the
    first. ``moved``: (sanction row id, standing.Sanction as it now stands or as lifted, the ledger
    row that lifted or changed it, lifted?)."""
    made = []
    if not moved:
        return made
    today = local_date()
    told = session.exec(select(Referral).where(
        Referral.kind == Kind.notification, Referral.clue_category == "joint_sanction",
        col(Referral.sanction_id).in_([sanction_id for sanction_id, *_rest in moved]))).all()
    departments_told = defaultdict(list)
    for referral in told:
        departments_told[referral.sanction_id].append(referral)
    for sanction_id, sanction, row, lifted in moved:
        if sanction.kind not in SANCTION_KINDS:
            continue
        what = SANCTION_KINDS[sanction.kind]
        if lifted:
            category, change = "joint_sanction_lift", f"{what}已撤销 (原自 {sanction.starts_on.isoformat()})"
        else:
            last = sanction.ends_on or sanction.imposed_until
            category = "joint_sanction_change"
            change = (f"{what}期间变更为 自 {sanction.starts_on.isoformat()}"
                      + (f" 至 {last.isoformat()}" if last else "")
                      + (f", 重新登记不早于 {sanction.bar_until.isoformat()}" if sanction.bar_until else ""))
        summary = (f"联合惩戒变更通知: {practitioner.name[:1]}某 ({practitioner.code}) 医保支付资格{change}"
                   f"; 原通知 {', '.join(str(r.id) for r in departments_told[sanction_id])}; 原因: {row.reason or ''}")
        for first in departments_told[sanction_id]:
            referral = Referral(
                kind=Kind.notification, direction=Direction.outbound, department=first.department,
                region=first.region, status=State.sent, clue_category=category, summary=summary[:4000],
                score_case_id=first.score_case_id, sanction_id=row.id, sender_client_id=row.client_id,
                year=today.year, sent_on=today,
            )
            _insert(session, referral, [], [practitioner.code], row.client_id, today)
            _history(session, referral, Action.send, State.draft, State.sent, Side.sender, row.client_id, today)
            made.append(referral)
    return made


def for_practitioner(session: Session, caller: Caller, code: str) -> list[dict]:
    """The dossier's referrals: those about the person and those whose outcome names them."""
    rows = session.exec(
        select(Referral, ReferralSubject.role)
        .join(ReferralSubject, ReferralSubject.referral_id == Referral.id)
        .where(ReferralSubject.kind == "practitioner", ReferralSubject.code == code, *_scope_clause(caller))
        .order_by(Referral.id)
    ).all()
    roles: dict[int, set[str]] = defaultdict(set)
    by_id: dict[int, Referral] = {}
    for referral, role in rows:
        roles[referral.id].add(role)
        by_id[referral.id] = referral
    return [{
        "id": r.id, "kind": r.kind, "direction": r.direction, "department": r.department, "region": r.region,
        "status": r.status, "clue_category": r.clue_category, "sent_on": r.sent_on, "concluded_on": r.concluded_on,
        "named_in_outcome": "outcome" in roles[r.id], "outcome": json.loads(r.outcome) if r.outcome else None,
    } for r in by_id.values()]


# ---------------------------------------------------------------- overdue (worker and CLI)


def emit_overdue(session: Session, today: date | None = None, batch: int = 500) -> int:
    """``referral.overdue`` once per missed deadline; returns how many were reported now.

    The unique (referral, deadline, due date) row is inserted in a savepoint with its event, so
    a second worker racing on the same deadline fails its insert and skips it.
    """
    today = today or local_date()
    pending = session.exec(select(Referral).where(col(Referral.status).in_(machine.PENDING))
                           .order_by(Referral.id)).all()
    calendar = working_calendar.calendar(session)
    missed = [(r, d) for r in pending for d, overdue in [_deadline(r, today, calendar)] if overdue]
    reported = set(session.exec(
        select(ReferralOverdue.referral_id, ReferralOverdue.deadline, ReferralOverdue.due_on)
        .where(col(ReferralOverdue.referral_id).in_([r.id for r, _d in missed]))
    ).all()) if missed else set()
    count = 0
    for referral, deadline in missed:
        if (referral.id, deadline.kind, deadline.due_on) in reported:
            continue
        try:
            with session.begin_nested():
                session.add(ReferralOverdue(referral_id=referral.id, deadline=deadline.kind, due_on=deadline.due_on))
                session.flush()
                events.emit(session, "referral.overdue", subject=f"referral:{referral.id}", region=referral.region,
                            department=referral.department, data={
                                "referral_id": referral.id, "kind": referral.kind, "direction": referral.direction,
                                "department": referral.department, "status": referral.status,
                                "deadline": deadline.kind, "due_on": deadline.due_on,
                                "provisional": deadline.provisional, "as_of": today,
                            })
        except IntegrityError:
            continue
        count += 1
        if count >= batch:
            break
    session.commit()
    return count
