from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.kit.db import ReadSession, WriteSession
from app.kit.errors import Invalid, NotFound, field_error
from app.kit.openapi import problems
from app.kit.paging import RowId
from app.kit.responses import mark_created, replayed
from app.kit.timeutil import DateRefused, Day, local_date, parse_instant, parse_instant_or_date, utcnow
from app.practitioners.schemas import PractitionerCode, RegionCode
from app.scoring import catalog, checks, known, service
from app.scoring.models import RulesetRecord
from app.scoring.rulesets import select_ruleset
from app.scoring.schemas import (
    RegistrationIn,
    RegistrationOut,
    RepairIn,
    RepairOut,
    ReversalIn,
    ReversalOut,
    RulesetDocument,
    RulesetSummary,
    ScoreCaseIn,
    ScoreCaseOut,
    StandingOut,
    StandingQuery,
    StandingQueryOut,
    ViolationCatalogOut,
    ViolationTypeOut,
)

router = APIRouter(prefix="/v1", tags=["scoring"])

Scorer = Annotated[Caller, Depends(allowed(Action.scores_write))]
ScoreReader = Annotated[Caller, Depends(allowed(Action.scores_read))]
StandingReader = Annotated[Caller, Depends(allowed(Action.standings_read))]
RulesetReader = Annotated[Caller, Depends(allowed(Action.rulesets_read))]
Code = Annotated[PractitionerCode, Path(description="national staff code")]


def _day(at: str | None, field: str) -> date:
    if at is None:
        return local_date()
    try:
        return parse_instant_or_date(at)
    except DateRefused as refused:
        raise Invalid(refused.message, errors=[field_error(field, refused.message, refused.kind)]) from None


def _json(content: dict) -> Response:
    # Serialised here, once: returning the dict would make FastAPI encode it and validate it
    # against response_model (which still documents the answer), most of a 1,000-code query's time.
    return Response(orjson.dumps(content), media_type="application/json")


# The check's optional ``at``, documented here and read from the query string by the route: as a
# FastAPI parameter its extraction and validation were a tenth of the check's time (bench/RESULTS.md).
AT_MAX_LENGTH = 40
_AT = {"name": "at", "in": "query", "required": False,
       "description": "a date (2025-12-31), or an ISO 8601 instant with offset read as its date in Asia/Shanghai; "
                      "default now",
       "schema": {"type": "string", "maxLength": AT_MAX_LENGTH}}


def _at(request: Request) -> date:
    at = request.query_params.get("at") if request.scope["query_string"] else None
    if at is not None and len(at) > AT_MAX_LENGTH:
        raise Invalid(f"must be at most {AT_MAX_LENGTH} characters", field="query.at")
    return _day(at, "query.at")


# ``known_at``: the standing as the ledger stood at that instant (app/scoring/known.py), read by
# the route like ``at``; the check without it never reads it.
_KNOWN_AT = {"name": "known_at", "in": "query", "required": False,
             "description": "an ISO 8601 instant with offset, not in the future: answer as the ledger stood then "
                            "(rows recorded at or before it; a person registered later is not found); "
                            "`at` then defaults to its date in Asia/Shanghai",
             "schema": {"type": "string", "format": "date-time", "maxLength": AT_MAX_LENGTH}}


def _known_at(value: str, field: str) -> datetime:
    if len(value) > AT_MAX_LENGTH:
        raise Invalid(f"must be at most {AT_MAX_LENGTH} characters", field=field)
    try:
        instant = parse_instant(value)
    except DateRefused as refused:
        raise Invalid(refused.message, errors=[field_error(field, refused.message, refused.kind)]) from None
    return _not_in_the_future(instant, field)


def _not_in_the_future(instant: datetime, field: str) -> datetime:
    if instant > utcnow():
        raise Invalid("is in the future: the ledger as it stands now is the answer without known_at", field=field)
    return instant


async def _standing_known_at(code: str, request: Request) -> Response:
    at = request.query_params.get("at")
    if at is not None and len(at) > AT_MAX_LENGTH:
        raise Invalid(f"must be at most {AT_MAX_LENGTH} characters", field="query.at")
    day = _day(at, "query.at") if at is not None else None
    known_at = _known_at(request.query_params["known_at"], "query.known_at")
    answer = (await run_in_threadpool(known.answers, [code], day, known_at)).get(code)
    if answer is None:
        raise NotFound(f"No practitioner {code} known at {known.echo(known_at)}")
    return _json(answer)


# The hot path first: FastAPI tries routes in order, and every route tried costs time per request.
@router.get("/practitioners/{code}/standing", response_model=StandingOut, responses=problems(404),
            openapi_extra={"parameters": [_AT, _KNOWN_AT]})
async def get_standing(code: Code, caller: StandingReader, request: Request):
    """May this practitioner bill the fund? The per-claim check (app/scoring/checks.py: the hot path).
    With ``known_at``, as the ledger stood at that instant (app/scoring/known.py)."""
    if request.scope["query_string"] and "known_at" in request.query_params:
        return await _standing_known_at(code, request)
    answer = await checks.standing_of(code, _at(request))
    if answer is None:
        raise NotFound(f"No practitioner {code} is registered")
    return _json(answer)


@router.post("/standings/query", response_model=StandingQueryOut)
async def query_standings(body: StandingQuery, caller: StandingReader):
    """Up to 1,000 codes at once; unknown codes are answered with found=false. With ``known_at``,
    as the ledger stood at that instant (a person registered later is not found)."""
    if body.known_at is not None:
        return await _standings_known_at(body)
    return _json({"results": await checks.standings(body.codes, _day(body.at, "body.at"))})


async def _standings_known_at(body: StandingQuery) -> Response:
    day = _day(body.at, "body.at") if body.at is not None else None
    known_at = _not_in_the_future(body.known_at, "body.known_at")
    return _json({"results": await run_in_threadpool(known.results, body.codes, day, known_at)})


@router.post("/score-cases", response_model=ScoreCaseOut, status_code=201,
             responses={200: replayed(ScoreCaseOut, "a repeat: the first answer, nothing changed")})
def create_score_case(
    body: ScoreCaseIn, caller: Scorer, session: WriteSession,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
):
    """Record one decision (记分) with its entries. All-or-nothing; a repeat changes nothing."""
    answer, created = service.record_case(session, caller, body, idempotency_key)
    # The answer as stored for repeats, sent as it is: not validated and encoded a second time.
    response = Response(answer, media_type="application/json")
    mark_created(response, created)
    return response


@router.get("/score-cases/{case_id}", response_model=ScoreCaseOut, responses=problems(404))
def get_score_case(case_id: RowId, caller: ScoreReader, session: ReadSession):
    return service.get_case(session, caller, case_id)


@router.post("/score-entries/{entry_id}/reversal", response_model=ReversalOut, status_code=201,
             responses={200: replayed(ReversalOut, "already reversed: the first reversal"),
                        **problems(404)})
def reverse_score_entry(entry_id: RowId, body: ReversalIn, caller: Scorer, session: WriteSession, response: Response):
    """Reverse an entry (appeal upheld, reconsideration, error): appended, never edited."""
    answer, created = service.reverse_entry(session, caller, entry_id, body.reason)
    mark_created(response, created)
    return answer


@router.post("/practitioners/{code}/repairs", response_model=RepairOut, status_code=201,
             responses={200: replayed(RepairOut, "the reference was already recorded"),
                        **problems(404, 409)})
def create_repair(code: Code, body: RepairIn, caller: Scorer, session: WriteSession, response: Response):
    """记分修复: points off for a qualifying activity, within the yearly cap, never below 0."""
    answer, created = service.record_repair(session, caller, code, body)
    mark_created(response, created)
    return answer


@router.post("/practitioners/{code}/registrations", response_model=RegistrationOut, status_code=201,
             responses=problems(404, 409))
def create_registration(code: Code, body: RegistrationIn, caller: Scorer, session: WriteSession):
    """A new registration after a termination, on or after the re-registration bar."""
    return service.record_registration(session, caller, code, body)


@router.get("/violation-types", response_model=ViolationCatalogOut, responses=problems(404))
def list_violation_types(
    caller: RulesetReader, session: ReadSession,
    region: Annotated[RegionCode | None, Query(description="default: your region")] = None,
    on: Annotated[Day | None, Query(description="default: today")] = None,
):
    """The violation catalogue of the ruleset in force for a region on a date."""
    region = region or caller.region
    on = on or local_date()
    ruleset = select_ruleset(list(catalog.rulesets(session).values()), region, on)
    if ruleset is None:
        raise NotFound(f"No ruleset in force for {region} on {on}")
    types = []
    for v in ruleset.violation_types:
        band = ruleset.band(v.band)
        types.append(ViolationTypeOut(code=v.code, name=v.name, band=band.code, band_name=band.name,
                                      min_points=band.min, max_points=band.max))
    return ViolationCatalogOut(ruleset=ruleset.id, region=region, on=on, violation_types=types)


@router.get("/rulesets", response_model=list[RulesetSummary])
def list_rulesets(caller: RulesetReader, session: ReadSession):
    rows = session.exec(select(RulesetRecord).order_by(RulesetRecord.jurisdiction, RulesetRecord.effective_from))
    return [RulesetSummary(id=r.id, name=r.name, jurisdiction=r.jurisdiction, effective_from=r.effective_from,
                           sha256=r.sha256) for r in rows]


@router.get("/rulesets/{ruleset_id}", response_model=None, responses={200: {"model": RulesetDocument}, **problems(404)})
def get_ruleset(ruleset_id: str, caller: RulesetReader, session: ReadSession) -> dict:
    """The full ruleset as validated and stored, with its SHA-256."""
    ruleset = catalog.rulesets(session).get(ruleset_id)
    if ruleset is None:
        raise NotFound(f"No ruleset {ruleset_id}")
    return {**ruleset.model_dump(mode="json"), "sha256": ruleset.content_hash()}
