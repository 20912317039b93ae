"""The reads settlement systems make: the per-claim standing check, the batch query, and the
standing feed and snapshot that mirrors follow.

A router of its own, included before every other (app/main.py): FastAPI tries routes in order and
every route tried costs time per request, so the claim path is matched first.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Annotated

import orjson
from fastapi import Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.kit.errors import Invalid, NotFound, field_error
from app.kit.messages import t
from app.kit.openapi import problems
from app.kit.routes import DirectRoute, api_router, direct
from app.kit.timeutil import DateRefused, local_date, parse_instant, parse_instant_or_date, utcnow
from app.practitioners.schemas import PractitionerCode
from app.scoring import checks, feed, known
from app.scoring.schemas import StandingChangesOut, StandingOut, StandingQuery, StandingQueryOut

router = api_router(prefix="/v1", tags=["scoring"])

# One dependency: documented on the routes and called by the direct check itself.
_may_read_standings = allowed(Action.standings_read)
StandingReader = Annotated[Caller, Depends(_may_read_standings)]
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
        raise Invalid(t("must be at most {length} characters", length=AT_MAX_LENGTH), field="query.at")
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
        raise Invalid(t("must be at most {length} characters", length=AT_MAX_LENGTH), field=field)
    try:
        instant = parse_instant(value)
    except DateRefused as refused:
        raise Invalid(refused.message, errors=[field_error(field, refused.message, refused.kind)]) from None
    return _not_in_the_future(instant, field)


def _not_in_the_future(instant: datetime, field: str) -> datetime:
    if instant > utcnow():
        raise Invalid(t("is in the future: the ledger as it stands now is the answer without known_at"), field=field)
    return instant


async def _standing_known_at(code: str, request: Request) -> Response:
    at = request.query_params.get("at")
    if at is not None and len(at) > AT_MAX_LENGTH:
        raise Invalid(t("must be at most {length} characters", length=AT_MAX_LENGTH), field="query.at")
    day = _day(at, "query.at") if at is not None else None
    known_at = _known_at(request.query_params["known_at"], "query.known_at")
    answer = (await run_in_threadpool(known.answers, [code], day, known_at)).get(code)
    if answer is None:
        raise NotFound(t("No practitioner {code} known at {known_at}", code=code, known_at=known.echo(known_at)))
    return _json(answer)


_CODE = TypeAdapter(PractitionerCode)


async def _check_standing(request: Request) -> Response:
    """The per-claim check as served (app/kit/routes.py ``DirectRoute``): what ``get_standing``
    declares, authenticated and validated here in FastAPI's order (the caller, then the code)."""
    await _may_read_standings(request)
    code = request.path_params["code"]
    try:
        _CODE.validate_python(code)
    except ValidationError as refused:
        raise RequestValidationError([{**e, "loc": ("path", "code", *e["loc"])} for e in refused.errors()]) from None
    if request.scope["query_string"] and "known_at" in request.query_params:
        return await _standing_known_at(code, request)
    answer = await checks.standing_of(code, _at(request))
    if answer is None:
        raise NotFound(t("No practitioner {code} is registered", code=code))
    return _json(answer)


# The hot path first: FastAPI tries routes in order, and every route tried costs time per request.
@direct(_check_standing)
async def get_standing(code: Code, caller: StandingReader) -> StandingOut:  # type: ignore[empty-body]
    """May this practitioner bill the fund? The per-claim check (app/scoring/checks.py: the hot path).
    With ``known_at``, as the ledger stood at that instant (app/scoring/known.py)."""


router.add_api_route("/practitioners/{code}/standing", get_standing, methods=["GET"], response_model=StandingOut,
                     responses=problems(404), openapi_extra={"parameters": [_AT, _KNOWN_AT]},
                     route_class_override=DirectRoute)


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


@router.get("/standings/changes", response_model=StandingChangesOut)
def standing_changes(
    caller: StandingReader,
    after: Annotated[str | None, Query(max_length=60, description="a next_cursor, or a snapshot's cursor; "
                                                                  "default: from the first change")] = None,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT, description="changes per page")] = feed.DEFAULT_LIMIT,
):
    """Every change of what a standing check answers, in an order no concurrent write can slip
    behind: a settlement system mirrors the standings and checks claims without calling here
    (docs/scaling.md, "The standing feed and mirrors"). Resume from ``next_cursor``."""
    return Response(feed.page_json(feed.parse_cursor(after), limit), media_type="application/json")


_SNAPSHOT = {200: {"description": "gzip-compressed NDJSON (Content-Encoding: gzip): a first line "
                                  "`{\"cursor\", \"taken_at\"}`, one `StandingData` line per registered practitioner, "
                                  "a last line `{\"end\": true, \"count\"}`",
                   "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}}


@router.get("/standings/snapshot", response_class=StreamingResponse, responses=_SNAPSHOT)
def standing_snapshot(caller: StandingReader):
    """Every registered practitioner's standing data as of one instant, streamed, with the cursor
    from which to follow ``/v1/standings/changes``: how a mirror starts."""
    chunks = feed.snapshot_chunks()
    first = next(chunks)  # the transaction is open and the cursor taken: a failure is still a problem answer
    return StreamingResponse(itertools.chain([first], chunks), media_type="application/x-ndjson",
                             headers={"Content-Encoding": "gzip", "Cache-Control": "no-store"})
