from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Response

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.kit.db import ReadSession, WriteSession
from app.kit.openapi import problems
from app.kit.paging import MAX_ID, PageLimit, RowId
from app.kit.responses import mark_created, replayed
from app.kit.routes import api_router
from app.kit.timeutil import Day
from app.practitioners.schemas import RegionCode
from app.referrals import service
from app.referrals.machine import Kind, State
from app.referrals.schemas import Direction, EventIn, ReferralIn, ReferralOut, ReferralPage, StatsOut

router = api_router(prefix="/v1", tags=["referrals"])

Reader = Annotated[Caller, Depends(allowed(Action.referrals_read))]
Writer = Annotated[Caller, Depends(allowed(Action.referrals_write))]
StatsReader = Annotated[Caller, Depends(allowed(Action.referrals_stats))]
AsOf = Annotated[Day | None, Query(description="judge deadlines on this day; default today")]


@router.post("/referrals", response_model=ReferralOut, status_code=201,
             responses={200: replayed(ReferralOut, "a repeat: the first answer, nothing changed")})
def create_referral(
    body: ReferralIn, caller: Writer, session: WriteSession, response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
):
    """A new referral, as a draft: a bureau sends to a department, a department to the bureau."""
    answer, created = service.create(session, caller, body, idempotency_key)
    mark_created(response, created)
    return answer


@router.get("/referrals/stats", response_model=StatsOut)
def get_referral_stats(
    caller: StatsReader, session: ReadSession, year: Annotated[int, Query(ge=2000, le=2100)],
    region: Annotated[RegionCode | None, Query(description="default: your region; sub-regions included")] = None,
    as_of: AsOf = None,
):
    """The yearly table by department and direction (the figures a bureau reports)."""
    return service.stats(session, caller, year, region, as_of)


@router.get("/referrals", response_model=ReferralPage)
def list_referrals(
    caller: Reader, session: ReadSession,
    direction: Direction | None = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    status: State | None = None,
    kind: Kind | None = None,
    region: Annotated[RegionCode | None, Query(description="default: your region; sub-regions included")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    overdue: bool | None = None,
    as_of: AsOf = None,
    limit: PageLimit = 100,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
):
    items, next_cursor = service.list_referrals(
        session, caller, direction=direction, department=department, status=status, kind=kind, region=region,
        year=year, overdue=overdue, today=as_of, limit=limit, cursor=cursor)
    return ReferralPage(items=items, next_cursor=next_cursor)


@router.get("/referrals/{referral_id}", response_model=ReferralOut, responses=problems(404))
def get_referral(referral_id: RowId, caller: Reader, session: ReadSession):
    """One referral with its whole history."""
    return service.get(session, caller, referral_id)


@router.post("/referrals/{referral_id}/events", response_model=ReferralOut, status_code=201,
             responses=problems(404, 409))
def create_referral_event(referral_id: RowId, body: EventIn, caller: Writer, session: WriteSession):
    """A lifecycle step (send, receive, file, decline, conclude, return, extend, remind, withdraw,
    close); 409 with the allowed ones when the state machine does not allow it."""
    return service.post_event(session, caller, referral_id, body)
