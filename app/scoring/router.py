from __future__ import annotations

from tempfile import SpooledTemporaryFile
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import select

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.kit.db import ReadSession, WriteSession
from app.kit.errors import NotFound, UnsupportedMediaType
from app.kit.messages import negotiate, t
from app.kit.openapi import problems
from app.kit.paging import RowId
from app.kit.responses import mark_created, replayed
from app.kit.routes import api_router
from app.kit.timeutil import Day, local_date
from app.practitioners.schemas import PractitionerCode, RegionCode
from app.scoring import bulk, catalog, service
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
    ScoreCaseLineOut,
    ScoreCaseOut,
    ScoreCaseStreamEnd,
    ViolationCatalogOut,
    ViolationTypeOut,
)
from app.settings import get_settings

router = api_router(prefix="/v1", tags=["scoring"])

Scorer = Annotated[Caller, Depends(allowed(Action.scores_write))]
ScoreReader = Annotated[Caller, Depends(allowed(Action.scores_read))]
RulesetReader = Annotated[Caller, Depends(allowed(Action.rulesets_read))]
Code = Annotated[PractitionerCode, Path(description="national staff code")]


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


class NDJSONResponse(StreamingResponse):
    media_type = "application/x-ndjson"


NDJSON = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")
# Spooled in memory up to this size, then to a temporary file: a migration's stream may be large.
_SPOOL_BYTES = 8 << 20


@router.post(
    bulk.PATH.removeprefix("/v1"), response_class=NDJSONResponse,
    responses={200: {"model": ScoreCaseLineOut | ScoreCaseStreamEnd, "description":
                     "one `ScoreCaseLineOut` line per non-blank input line, in order, each sent once its "
                     "chunk has committed; a last line `{\"summary\": ...}`"}, **problems(413, 415)},
    openapi_extra={"requestBody": {"required": True, "description": "NDJSON: one `ScoreCaseIn` per line",
                                   "content": {"application/x-ndjson": {"schema": {"$ref": "#/components/schemas/ScoreCaseIn"}}}}},
)
async def create_score_cases_bulk(request: Request, caller: Scorer):
    """A stream of cases (NDJSON, one ``ScoreCaseIn`` a line): migrations and smart-supervision
    batches. Each case is recorded, refused or recognised as a repeat exactly as if sent alone to
    ``POST /v1/score-cases`` (all-or-nothing, idempotent by ``case_ref``), at many times the rate.
    The answer streams one line per case, then a summary."""
    sent = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if sent not in NDJSON:
        raise UnsupportedMediaType(t("A stream of cases must be sent as NDJSON: set the header Content-Type: application/x-ndjson (it was {content_type})",
                                     content_type=sent[:80] or "none"), headers={"Accept-Post": ", ".join(NDJSON)})
    spool = SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    async for chunk in request.stream():
        spool.write(chunk)
    spool.seek(0)
    language = negotiate(request.headers.get("accept-language"))
    max_line_bytes = get_settings().max_body_bytes

    def answer():  # iterated in a worker thread: each chunk is a transaction
        totals = bulk.Totals()
        try:
            for outcome in bulk.record_stream(caller, bulk.read_lines(spool, max_line_bytes), max_line_bytes=max_line_bytes):
                totals.add(outcome)
                yield bulk.result_line(outcome, language)
            yield bulk.summary_line(totals)
        finally:
            spool.close()

    return NDJSONResponse(answer(), headers={"Content-Language": language, "Vary": "Accept-Language",
                                             "Cache-Control": "no-store"})


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
        raise NotFound(t("No ruleset in force for {region} on {on}", region=region, on=on))
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
        raise NotFound(t("No ruleset {ruleset_id}", ruleset_id=ruleset_id))
    return {**ruleset.model_dump(mode="json"), "sha256": ruleset.content_hash()}


# ---------------------------------------------------------------- the standing feed (app/scoring/feed.py)
