"""A stream of score cases (NDJSON, ``POST /v1/score-cases/bulk``): migrations of a region's past
decisions and the batches of smart-supervision systems, at many times the rate of one request a case.

Each case is all-or-nothing and idempotent exactly as if it had been sent alone: the same
validation, the same answer stored for its repeats (by ``case_ref``), the same ledger rows, events
and audit. What changes is the cost: consecutive cases are gathered into chunks and a chunk is
written in one transaction with a handful of statements for all of it (one lock statement for all
its people, one ledger read, one insert per table), so the per-case cost of the statements, the
commit and the HTTP request falls away.

A chunk's cases have no practitioner and no ``case_ref`` in common: a person's second case in the
stream starts a new chunk, so it sees the first as a second request would. Results are sent once a
chunk has committed, in the order of the lines. A chunk that fails as a whole (another writer
recorded one of its case_refs meanwhile, a dead-lock) is rolled back and its cases are recorded one
transaction each; a case to notify (``procedure`` "notify") goes alone, through the one-case path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson
from pydantic import ValidationError
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app import audit
from app.auth.roles import Caller
from app.kit.db import insert_many, update_many, write_session
from app.kit.errors import (
    DATABASE_UNAVAILABLE,
    DatabaseUnavailable,
    InternalError,
    Invalid,
    field_error,
    field_errors,
    localise,
    validation_problem,
)
from app.kit.idempotency import request_hash
from app.kit.messages import t
from app.kit.nulchars import MESSAGE as NUL_MESSAGE
from app.kit.nulchars import nul_fields
from app.kit.timeutil import local_date
from app.practitioners import service as practitioners
from app.scoring import catalog, service
from app.scoring.models import ScoreCase
from app.scoring.schemas import ScoreCaseIn

logger = logging.getLogger("app")

PATH = "/v1/score-cases/bulk"

# A chunk's size: long enough that its dozen statements cost little a case, short enough that its
# people stay locked for tens of milliseconds, as under a large single case.
CHUNK_CASES = 100
CHUNK_ENTRIES = 1_000

_CASES = ScoreCase.__table__
_CASES_BY_REF = (
    select(_CASES.c.id, _CASES.c.case_ref, _CASES.c.request_hash, _CASES.c.response)
    .where(_CASES.c.client_id == bindparam("client"), _CASES.c.case_ref.in_(bindparam("refs", expanding=True)))
)


@dataclass
class Outcome:
    """What became of one line: ``status`` 201 (recorded), 200 (a repeat: the first answer),
    422 (refused, nothing recorded), 503 (the database failed; send the line again) or 500."""

    line: int
    case_ref: str | None
    status: int = 0
    answer: str | None = None  # the case's answer as stored (ScoreCaseOut JSON)
    problem: Any = None  # the problem (fastapi_problem) of a 422, 500 or 503
    entries: int = 0


@dataclass
class _Pending:
    outcome: Outcome
    body: ScoreCaseIn | None = None
    digest: str = ""


@dataclass
class Totals:
    lines: int = 0
    created: int = 0
    replayed: int = 0
    refused: int = 0
    failed: int = 0
    entries_recorded: int = 0

    def add(self, outcome: Outcome) -> None:
        self.lines += 1
        if outcome.status == 201:
            self.created += 1
            self.entries_recorded += outcome.entries
        elif outcome.status == 200:
            self.replayed += 1
        elif outcome.status == 422:
            self.refused += 1
        else:
            self.failed += 1


def record_stream(caller: Caller, lines: Iterable[bytes], *, max_line_bytes: int) -> Iterator[Outcome]:
    """The outcome of each non-blank line, in order, as chunks commit."""
    chunk: list[_Pending] = []
    people: set[str] = set()
    refs: set[str] = set()
    entries = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        item = _parse(number, raw, max_line_bytes)
        body = item.body
        if body is None:
            chunk.append(item)  # refused already; keeps its place among the lines
            continue
        codes = {e.practitioner for e in body.entries}
        alone = body.procedure == "notify"
        if chunk and (alone or codes & people or body.case_ref in refs
                      or len(chunk) >= CHUNK_CASES or entries + len(body.entries) > CHUNK_ENTRIES):
            yield from _flush(caller, chunk)
            chunk, people, refs, entries = [], set(), set(), 0
        if alone:
            yield _one(caller, item)
            continue
        chunk.append(item)
        people |= codes
        refs.add(body.case_ref)
        entries += len(body.entries)
    yield from _flush(caller, chunk)


def read_lines(file: IO[bytes], max_line_bytes: int) -> Iterator[bytes]:
    """The lines of a spooled stream. A line longer than ``max_line_bytes`` is not read whole: its
    first ``max_line_bytes + 1`` bytes stand for it (and are refused), the rest is skipped."""
    while True:
        line = file.readline(max_line_bytes + 1)
        if not line:
            return
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            while (rest := file.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass
        yield line


def _parse(number: int, raw: bytes, max_line_bytes: int) -> _Pending:
    if len(raw) > max_line_bytes:
        problem = Invalid(t("Line {line} is longer than {limit} bytes; nothing of it was recorded", line=number, limit=max_line_bytes),
                          field="body")
        return _Pending(Outcome(number, None, 422, problem=problem))
    if b"\\u0000" in raw or b"\x00" in raw:
        fields = nul_fields(raw)
        if fields:
            return _Pending(Outcome(number, _case_ref_of(raw), 422, problem=validation_problem(
                [field_error(f, NUL_MESSAGE, "string_nul") for f in fields])))
    try:
        body = ScoreCaseIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]
        document = raw.decode("utf-8", "replace")
        return _Pending(Outcome(number, _case_ref_of(raw), 422, problem=validation_problem(field_errors(errors, document))))
    return _Pending(Outcome(number, body.case_ref), body, request_hash(body))


def _case_ref_of(raw: bytes) -> str | None:
    """The case_ref of a line that did not validate, when it can be read: to say which case it was."""
    try:
        ref = orjson.loads(raw).get("case_ref")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return ref.strip()[:100] if isinstance(ref, str) else None


def _flush(caller: Caller, chunk: list[_Pending]) -> Iterator[Outcome]:
    cases = [item for item in chunk if item.body is not None]
    if cases:
        try:
            with write_session() as session:
                _record_chunk(session, caller, cases)
                session.commit()
        except (IntegrityError, *DATABASE_UNAVAILABLE) as exc:
            # Nothing of the chunk was kept: each case once more on its own, as separate requests would.
            logger.warning("a chunk of %d score cases went one by one: %s", len(cases), type(getattr(exc, "orig", exc)).__name__)
            for item in cases:
                item.outcome = _one(caller, item)
    for item in chunk:
        yield item.outcome


def _record_chunk(session: Session, caller: Caller, items: list[_Pending]) -> None:
    """Record cases whose people and case_refs are disjoint, in the session's transaction; each
    item's outcome is set (its answer or its problem)."""
    connection = session.connection()
    rulesets = catalog.rulesets(session)
    existing = {row.case_ref: row for row in connection.execute(
        _CASES_BY_REF, {"client": caller.client_id, "refs": [item.body.case_ref for item in items]})}
    locked = service.lock_practitioners(session, [e.practitioner for item in items for e in item.body.entries])
    working = practitioners.working_pairs(session, [item.body.institution for item in items],
                                          [p.id for p in locked.values()])
    today = local_date()
    counted = []
    for item in items:
        body, outcome = item.body, item.outcome
        try:
            first = existing.get(body.case_ref)
            if first is not None:
                outcome.status, outcome.answer = 200, service.replay(first, item.digest)
                continue
            plan = service.plan_case(caller, body, rulesets, locked, working, today)
        except Invalid as problem:
            outcome.status, outcome.problem = 422, problem
            continue
        counted.append((item, service.new_case(caller, body, plan, None, item.digest), plan))
    if not counted:
        return
    ids = dict(insert_many(connection, _CASES, [service.case_row(case) for _i, case, _p in counted],
                           returning=("case_ref", "id")))
    for _item, case, _plan in counted:
        case.id = ids[case.case_ref]
    mine = {e.practitioner for item, _c, _p in counted for e in item.body.entries}
    persons = service.persons_of(session, {code: locked[code] for code in mine}, rulesets)
    answers = service.count_cases(session, caller, [(case, item.body, plan.points) for item, case, plan in counted], persons)
    for (item, case, _plan), (results, outcomes) in zip(counted, answers):
        case.response = service.case_answer(case, item.body, results, outcomes)
        item.outcome.status, item.outcome.answer, item.outcome.entries = 201, case.response, len(item.body.entries)
    update_many(connection, _CASES, "id", [{"id": case.id, "response": case.response} for _i, case, _p in counted])
    audit.record_many(session, caller, [service.case_audit(case, item.body, plan.points) for item, case, plan in counted])


def _one(caller: Caller, item: _Pending) -> Outcome:
    """One case in a transaction of its own, as ``POST /v1/score-cases`` records it."""
    outcome = item.outcome
    try:
        with write_session() as session:
            outcome.answer, created = service.record_case(session, caller, item.body, None)
        outcome.status = 201 if created else 200
        outcome.entries = len(item.body.entries) if created else 0
    except Invalid as problem:
        outcome.status, outcome.problem = 422, problem
    except DATABASE_UNAVAILABLE as exc:
        logger.warning("score case %s not recorded: database unavailable (%s)", item.body.case_ref,
                       type(getattr(exc, "orig", exc)).__name__)
        outcome.status = 503
        outcome.problem = DatabaseUnavailable(t("The database is unavailable for a moment; send the line again"))
    except Exception:
        # One case's fault must not cut the stream short: the rest still get their answers.
        logger.exception("score case %s not recorded", item.body.case_ref)
        outcome.status, outcome.problem = 500, InternalError()
    return outcome


def result_line(outcome: Outcome, language: str) -> bytes:
    """One NDJSON line of the answer: ``line``, ``case_ref``, ``status`` and the ``case`` (201, 200)
    or the ``problem`` (422, 500, 503)."""
    head = orjson.dumps({"line": outcome.line, "case_ref": outcome.case_ref, "status": outcome.status})[:-1]
    if outcome.answer is not None:
        return head + b',"case":' + outcome.answer.encode() + b"}\n"
    problem = localise(outcome.problem.marshal(), language)
    return head + b',"problem":' + orjson.dumps(problem) + b"}\n"


def summary_line(totals: Totals) -> bytes:
    return orjson.dumps({"summary": {
        "lines": totals.lines, "created": totals.created, "replayed": totals.replayed,
        "refused": totals.refused, "failed": totals.failed, "entries_recorded": totals.entries_recorded,
    }}) + b"\n"

