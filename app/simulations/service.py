"""Ruleset what-if runs (模拟测算): submit, run as a background job, read the report.

A run reads the ledger and writes only its own tables. The region's ledger is streamed ordered by
practitioner with a server-side cursor (``yield_per``), one practitioner at a time through the
pure ``replay`` module; report rows are written in batches, each batch in a short transaction that
also moves the percentage and renews the worker's lease. So memory does not grow with the region,
and several workers may run: a claim takes one queued simulation under ``FOR UPDATE SKIP LOCKED``
on PostgreSQL (``BEGIN IMMEDIATE`` serialises claims on SQLite), and a worker that dies mid-run
leaves a lapsed lease that another worker takes over from the start.

Only practitioners with an entry in the year are replayed: for anyone else the draft has nothing
to re-point (repairs cannot act on a year without points, earlier years are not re-pointed), so
their standing is the same on both sides, carried-over suspensions and terminations included.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import groupby
from operator import attrgetter

from sqlalchemy import and_, delete, func, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import audit
from app.auth.roles import Caller, Role
from app.kit.db import get_engine, is_sqlite, read_session, write_session
from app.kit.errors import Conflict, Invalid, NotFound, field_error
from app.kit.idempotency import request_hash
from app.kit.messages import field_list, from_text, t
from app.kit.paging import keyset_page
from app.kit.timeutil import local_date, utcnow
from app.practitioners.models import Practitioner
from app.scoring import catalog
from app.scoring.models import LedgerRow, ScoreCase
from app.scoring.rulesets import Ruleset, RulesetError, parse_ruleset, select_ruleset
from app.scoring.service import ENTRY, REGISTRATION, REPAIR, REVERSAL, facts_from_rows
from app.shared import regions
from app.simulations import replay, report
from app.simulations.models import DONE, FAILED, QUEUED, RUNNING, Simulation, SimulationRow, SimulationUnplaced
from app.simulations.schemas import DraftOut, SimulationIn, SimulationOut, SimulationPage

logger = logging.getLogger("app.simulations")

LEASE = timedelta(minutes=5)  # renewed with every batch; a batch takes well under a second
MAX_ATTEMPTS = 3  # a run that kills its worker three times is failed rather than retried for ever
FLUSH_PEOPLE = 2000  # practitioners replayed between two writes of report rows and progress
STREAM_ROWS = 5000  # ledger rows fetched per round trip of the server-side cursor
READ_ROWS = 2000  # stored report rows read per query when a report is served
POLL_SECONDS = 2.0


class LeaseLost(Exception):
    """Another worker took the simulation over (this one was presumed dead): stop writing."""


# ---------------------------------------------------------------- submit


def validate_draft(text: str, field: str = "body.draft") -> Ruleset:
    """The draft, validated like a bundled file; a bad one is a 422 naming each field."""
    try:
        return parse_ruleset(text, source="draft")
    except RulesetError as exc:
        errors = [field_error(f"{field}.{path}" if path else field, from_text(message)) for path, message in exc.problems]
        raise Invalid(t("The draft ruleset is not valid: {problems}", problems=field_list(errors)),
                      errors=errors) from None


def _checked(caller: Caller, body: SimulationIn) -> tuple[Ruleset, date]:
    errors = []
    draft = None
    try:
        draft = validate_draft(body.draft)
    except Invalid as exc:
        errors += exc.extras["errors"]
    if not caller.covers(body.region):
        errors.append(field_error("body.region", t("outside your region {region}", region=caller.region)))
    today = local_date()
    if body.year > today.year:
        errors.append(field_error("body.year", t("is in the future: there is nothing to replay")))
    if draft is not None and not (regions.covers(draft.jurisdiction, body.region)
                                  or regions.covers(body.region, draft.jurisdiction)):
        errors.append(field_error("body.draft.jurisdiction",
                                  t("{jurisdiction} and the region {region} do not overlap", jurisdiction=draft.jurisdiction, region=body.region)))
    if errors:
        raise Invalid(t("Simulation not acceptable; nothing was stored"), errors=errors)
    return draft, min(today, date(body.year, 12, 31))


def _new(caller: Caller, body: SimulationIn, draft: Ruleset, as_of: date, key: str | None, digest: str,
         **state) -> Simulation:
    return Simulation(
        region=body.region, year=body.year, as_of=as_of, draft=body.draft,
        draft_sha256=hashlib.sha256(body.draft.encode("utf-8")).hexdigest(), draft_ruleset_id=draft.id,
        draft_name=draft.name[:200], requested_by=caller.principal, requested_by_name=caller.name[:200],
        idempotency_key=key, request_hash=digest, **state,
    )


def submit(session: Session, caller: Caller, body: SimulationIn, idempotency_key: str | None = None
           ) -> tuple[Simulation, bool]:
    """(simulation, created): queued for the worker. A repeat with the same Idempotency-Key and
    body returns the first simulation; the same key with another body is refused."""
    digest = request_hash(body)
    if idempotency_key is not None:
        existing = _by_key(session, caller, idempotency_key)
        if existing is not None:
            return _replayed(existing, digest), False
    draft, as_of = _checked(caller, body)
    simulation = _new(caller, body, draft, as_of, idempotency_key, digest)
    try:
        session.add(simulation)
        session.flush()
        _audit(session, caller, simulation)
        session.commit()
    except IntegrityError:
        session.rollback()  # the same key raced us and committed first
        existing = _by_key(session, caller, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replayed(existing, digest), False
    return simulation, True


def _audit(session: Session, caller: Caller, simulation: Simulation) -> None:
    audit.record(session, caller, "ruleset_simulation.create", "ruleset_simulation", simulation.id,
                 simulation.region, {"year": simulation.year, "draft": simulation.draft_ruleset_id,
                                     "draft_sha256": simulation.draft_sha256})


def _by_key(session: Session, caller: Caller, key: str) -> Simulation | None:
    return session.exec(select(Simulation).where(Simulation.requested_by == caller.principal,
                                                 Simulation.idempotency_key == key)).first()


def _replayed(simulation: Simulation, digest: str) -> Simulation:
    if simulation.request_hash != digest:
        raise Invalid(t("This Idempotency-Key was already used with a different body; nothing was changed"),
                      errors=[field_error("header.Idempotency-Key", t("used before with a different body"),
                                          "idempotency_conflict")])
    return simulation


def run_now(caller: Caller, body: SimulationIn) -> Simulation:
    """Submit and run at once in this process (the command line); returns the finished simulation."""
    token = _token(f"cli:{os.getpid()}")
    with write_session() as session:
        draft, as_of = _checked(caller, body)
        now = utcnow()
        simulation = _new(caller, body, draft, as_of, None, request_hash(body), state=RUNNING, attempts=1,
                          locked_by=token, locked_until=now + LEASE, started_at=now)
        session.add(simulation)
        session.flush()
        _audit(session, caller, simulation)
        session.commit()
        simulation_id = simulation.id
    execute(simulation_id, token)
    with read_session() as session:
        return session.get(Simulation, simulation_id)


# ---------------------------------------------------------------- read


def get(session: Session, caller: Caller, simulation_id: int) -> Simulation:
    simulation = session.get(Simulation, simulation_id)
    if simulation is None or simulation.requested_by != caller.principal:
        raise NotFound(t("No simulation {simulation_id} of yours", simulation_id=simulation_id))
    return simulation


def list_mine(session: Session, caller: Caller, limit: int, cursor: int | None) -> SimulationPage:
    # Without the summaries: a page of them would be large, and each item's own answer has it.
    rows, next_cursor = keyset_page(
        session, select(Simulation).where(Simulation.requested_by == caller.principal), Simulation.id, limit, cursor)
    return SimulationPage(items=[describe(s, with_summary=False) for s in rows], next_cursor=next_cursor)


def links(simulation_id: int) -> dict[str, str]:
    base = f"/v1/rulesets/simulations/{simulation_id}"
    return {"self": base, "json": f"{base}/report", "csv": f"{base}/report?format=csv",
            "unplaced_csv": f"{base}/report?format=csv&part=unplaced", "html": f"{base}/report?format=html"}


def describe(simulation: Simulation, *, with_summary: bool = True) -> SimulationOut:
    return SimulationOut(
        id=simulation.id, state=simulation.state, percent=simulation.percent, region=simulation.region,
        year=simulation.year, as_of=simulation.as_of,
        draft=DraftOut(id=simulation.draft_ruleset_id, name=simulation.draft_name, sha256=simulation.draft_sha256),
        requested_by=simulation.requested_by_name, created_at=simulation.created_at,
        started_at=simulation.started_at, finished_at=simulation.finished_at, error=simulation.error,
        people=simulation.people, unplaced=simulation.unplaced,
        summary=json.loads(simulation.summary) if with_summary and simulation.summary else None,
        links=links(simulation.id),
    )


def reveals_codes(caller: Caller) -> bool:
    """A bureau reads practitioner codes in full; an admin (no personal data) reads them masked."""
    return caller.role == Role.bureau


def finished(simulation: Simulation) -> Simulation:
    if simulation.state != DONE:
        raise Conflict(t("Simulation {id} is {state} ({percent}%): its report exists once it is done", id=simulation.id, state=simulation.state, percent=simulation.percent), state=simulation.state)
    return simulation


def _stored(model, simulation_id: int) -> Iterator[str]:
    """Stored report rows as JSON text, in batches from a session of their own, so a response can
    stream after the request's session is gone."""
    last = 0
    with read_session() as session:
        while True:
            batch = session.exec(
                select(model.position, model.data).where(model.simulation_id == simulation_id, model.position > last)
                .order_by(model.position).limit(READ_ROWS)
            ).all()
            if not batch:
                return
            for _position, data in batch:
                yield data
            last = batch[-1][0]


def _rows(model, simulation_id: int, reveal: bool) -> Iterator[dict]:
    return (report.masked(json.loads(data), reveal) for data in _stored(model, simulation_id))


def json_chunks(simulation: Simulation, reveal: bool) -> Iterator[str]:
    meta = describe(simulation, with_summary=False).model_dump(mode="json", exclude={"summary"})
    if reveal:
        people, unplaced = _stored(SimulationRow, simulation.id), _stored(SimulationUnplaced, simulation.id)
    else:
        people = (json.dumps(r, ensure_ascii=False) for r in _rows(SimulationRow, simulation.id, False))
        unplaced = (json.dumps(r, ensure_ascii=False) for r in _rows(SimulationUnplaced, simulation.id, False))
    return report.json_chunks(meta, json.loads(simulation.summary), people, unplaced)


def csv_chunks(simulation: Simulation, reveal: bool, part: str = "practitioners") -> Iterator[str]:
    if part == "unplaced":
        return report.unplaced_csv(_rows(SimulationUnplaced, simulation.id, reveal))
    return report.people_csv(_rows(SimulationRow, simulation.id, reveal))


def html_page(session: Session, simulation: Simulation, reveal: bool) -> str:
    """The summary page; it exists in every state (a running one shows its percentage)."""
    changed = []
    if simulation.state == DONE:
        rows = session.exec(
            select(SimulationRow.data).where(SimulationRow.simulation_id == simulation.id,
                                             SimulationRow.change != replay.UNCHANGED)
            .order_by(SimulationRow.position).limit(report.HTML_CHANGED_ROWS)
        ).all()
        changed = [report.masked(json.loads(data), reveal) for data in rows]
    meta = describe(simulation).model_dump(mode="json")
    return report.html(meta, meta.pop("summary"), changed)


# ---------------------------------------------------------------- the worker job


def worker_name() -> str:
    return f"{os.uname().nodename[:20]}:{os.getpid()}"


def _token(worker: str) -> str:
    return f"{worker[:40]}/{secrets.token_hex(6)}"


def claim(now: datetime | None = None, *, worker: str) -> tuple[int, str] | None:
    """Take the oldest queued simulation (or one whose worker's lease lapsed): (id, lease token)."""
    now = now or utcnow()
    stmt = (
        select(Simulation)
        .where(or_(Simulation.state == QUEUED,
                   and_(Simulation.state == RUNNING, col(Simulation.locked_until) < now)))
        .order_by(Simulation.id).limit(1)
    )
    if not is_sqlite(get_engine()):  # SQLite has one writer at a time: BEGIN IMMEDIATE suffices
        stmt = stmt.with_for_update(skip_locked=True)
    with write_session() as session:
        simulation = session.exec(stmt).first()
        if simulation is None:
            return None
        _clear_report(session, simulation.id)  # what an earlier, interrupted attempt wrote
        if simulation.attempts >= MAX_ATTEMPTS:
            simulation.state, simulation.locked_by, simulation.locked_until = FAILED, None, None
            simulation.error = f"stopped after {simulation.attempts} interrupted attempts"
            simulation.finished_at = now
            session.add(simulation)
            session.commit()
            logger.error("simulation %s failed: %s", simulation.id, simulation.error)
            return None
        token = _token(worker)
        simulation.state, simulation.percent, simulation.attempts = RUNNING, 0, simulation.attempts + 1
        simulation.locked_by, simulation.locked_until = token, now + LEASE
        simulation.started_at = now
        session.add(simulation)
        session.commit()
        return simulation.id, token


def run_next(worker: str | None = None) -> int:
    """One round of the worker job: claim and run one simulation; returns how many it ran."""
    claimed = claim(worker=worker or worker_name())
    if claimed is None:
        return 0
    execute(*claimed)
    return 1


def _clear_report(session: Session, simulation_id: int) -> None:
    session.exec(delete(SimulationRow).where(col(SimulationRow.simulation_id) == simulation_id))
    session.exec(delete(SimulationUnplaced).where(col(SimulationUnplaced.simulation_id) == simulation_id))


def execute(simulation_id: int, token: str) -> None:
    """Run a claimed simulation to done or failed."""
    try:
        _execute(simulation_id, token)
    except LeaseLost:
        logger.warning("simulation %s was taken over by another worker; this run stops", simulation_id)
    except Exception as exc:  # the run fails, the worker carries on; the log has the trace
        logger.exception("simulation %s failed", simulation_id)
        with write_session() as session:
            owned = _owned(session, simulation_id, token)
            if owned is not None:
                _clear_report(session, simulation_id)
                owned.state, owned.locked_by, owned.locked_until = FAILED, None, None
                owned.error = f"the replay failed ({type(exc).__name__}); the service log has the details"
                owned.finished_at = utcnow()
                session.add(owned)
                session.commit()


def _owned(session: Session, simulation_id: int, token: str) -> Simulation | None:
    return session.exec(select(Simulation).where(Simulation.id == simulation_id, Simulation.locked_by == token)
                        .with_for_update()).first()


class _Writer:
    """Report rows waiting for their batch, and the progress that goes with them."""

    def __init__(self, simulation_id: int, token: str, total: int):
        self.simulation_id, self.token, self.total = simulation_id, token, total
        self.seen = 0
        self.people: list[dict] = []
        self.unplaced: list[dict] = []
        self.positions = {"people": 0, "unplaced": 0}

    def add(self, result: replay.Result) -> None:
        self.positions["people"] += 1
        self.people.append({"simulation_id": self.simulation_id, "position": self.positions["people"],
                            "change": result.change, "data": json.dumps(result.as_dict(), ensure_ascii=False)})
        for item in result.unplaced:
            self.positions["unplaced"] += 1
            self.unplaced.append({"simulation_id": self.simulation_id, "position": self.positions["unplaced"],
                                  "data": json.dumps(item.as_dict(result.person.code), ensure_ascii=False)})

    def flush(self, **finish) -> None:
        with write_session() as session:
            values = {"locked_until": utcnow() + LEASE, **finish}
            if not finish:
                values["percent"] = min(99, self.seen * 100 // self.total) if self.total else 0
            moved = session.exec(update(Simulation).where(col(Simulation.id) == self.simulation_id,
                                                          col(Simulation.locked_by) == self.token).values(**values))
            if moved.rowcount != 1:
                session.rollback()
                raise LeaseLost()
            # Core inserts of the tables: multi-row VALUES, not the ORM's row-by-row bulk path.
            if self.people:
                session.connection().execute(insert(SimulationRow.__table__), self.people)
            if self.unplaced:
                session.connection().execute(insert(SimulationUnplaced.__table__), self.unplaced)
            session.commit()
        self.people, self.unplaced = [], []


def _execute(simulation_id: int, token: str) -> None:
    with read_session() as session:
        simulation = session.get(Simulation, simulation_id)
        stored = catalog.rulesets(session)
        plan = replay.Plan(parse_ruleset(simulation.draft, source="draft"), stored, simulation.year, simulation.as_of)
        in_region = session.exec(select(func.count()).select_from(Practitioner)
                                 .where(regions.within(Practitioner.region, simulation.region))).one()
        scored = _scored(simulation.region, simulation.year)
        writer = _Writer(simulation_id, token, session.exec(
            select(func.count()).select_from(scored.subquery())).one())
        live_bands = select_ruleset(list(stored.values()), simulation.region, simulation.as_of)
        summary = replay.Summary(plan, live_bands, in_region)
        for person in people(session, scored, simulation.year):
            writer.seen += 1
            result = replay.replay(person, plan)
            if result is not None:
                summary.add(result)
                writer.add(result)
            if writer.seen % FLUSH_PEOPLE == 0:
                writer.flush()
    writer.flush(state=DONE, percent=100, locked_by=None, locked_until=None, finished_at=utcnow(),
                 summary=json.dumps(summary.as_dict(), ensure_ascii=False), people=summary.people,
                 unplaced=summary.unplaced)


def _scored(region: str, year: int):
    """The practitioners of the region with an entry dated in the year (reversed or not)."""
    return (
        select(LedgerRow.practitioner_id).distinct()
        .join(Practitioner, Practitioner.id == LedgerRow.practitioner_id)
        .where(LedgerRow.kind == ENTRY, col(LedgerRow.effective_on).between(date(year, 1, 1), date(year, 12, 31)),
               regions.within(Practitioner.region, region))
    )


def people(session: Session, scored, year: int) -> Iterator[replay.Person]:
    """Each scored practitioner's ledger up to the end of the year (reversals whenever made: the
    ledger as known now), streamed in practitioner order from a server-side cursor."""
    stmt = (
        select(LedgerRow.practitioner_id, LedgerRow.id, LedgerRow.kind, LedgerRow.effective_on,
               LedgerRow.points, LedgerRow.case_id, LedgerRow.target_id, LedgerRow.violation_type, LedgerRow.tier,
               LedgerRow.circumstances, LedgerRow.ruleset_id, LedgerRow.details,
               ScoreCase.region.label("case_region"), Practitioner.code,
               Practitioner.region.label("practitioner_region"), Practitioner.registered_on)
        .join(Practitioner, Practitioner.id == LedgerRow.practitioner_id)
        .outerjoin(ScoreCase, ScoreCase.id == LedgerRow.case_id)
        .where(col(LedgerRow.practitioner_id).in_(scored),
               col(LedgerRow.kind).in_([ENTRY, REVERSAL, REPAIR, REGISTRATION]),
               or_(LedgerRow.effective_on <= date(year, 12, 31), LedgerRow.kind == REVERSAL))
        .order_by(LedgerRow.practitioner_id, LedgerRow.seq)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for practitioner_id, group in groupby(session.exec(stmt), key=attrgetter("practitioner_id")):
        rows = list(group)
        first = rows[0]
        yield replay.Person(practitioner_id, first.code, first.practitioner_region, rows,
                            facts_from_rows(first.registered_on, rows))
