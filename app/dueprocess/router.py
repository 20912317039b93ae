from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Response

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.dueprocess import service
from app.dueprocess.schemas import (
    AppealDecisionIn,
    AppealDecisionOut,
    AppealIn,
    AppealOut,
    AppealPage,
    ConfirmationOut,
    DecisionIn,
    DefenceIn,
    ProposalOut,
    ProposalPage,
    StatementIn,
    StatementOut,
)
from app.kit.db import ReadSession, WriteSession
from app.kit.openapi import problems
from app.kit.paging import PageLimit, RowId, parse_cursor
from app.kit.responses import mark_created, replayed
from app.kit.routes import api_router

router = api_router(prefix="/v1", tags=["due process"])

Decider = Annotated[Caller, Depends(allowed(Action.scores_write))]
Reader = Annotated[Caller, Depends(allowed(Action.scores_read))]
Respondent = Annotated[Caller, Depends(allowed(Action.due_process_respond))]




@router.get("/score-proposals", response_model=ProposalPage)
def list_score_proposals(
    caller: Reader, session: ReadSession,
    status: Literal["proposed", "defended", "confirmed", "withdrawn"] | None = None,
    closing_within: Annotated[int | None, Query(ge=0, le=60, description=(
        "only proposals still awaiting a defence whose window closes within this many working days"))] = None,
    limit: PageLimit = 100, cursor: Annotated[str | None, Query(max_length=20)] = None,
):
    """Entries awaiting decision (status=proposed or defended) and windows about to close."""
    return service.list_proposals(session, caller, status=status, closing_within=closing_within, limit=limit,
                                  cursor=parse_cursor(cursor))


@router.get("/score-proposals/{proposal_id}", response_model=ProposalOut, responses=problems(404))
def get_score_proposal(proposal_id: RowId, caller: Reader, session: ReadSession):
    return service.get_proposal(session, caller, proposal_id)


@router.post("/score-proposals/{proposal_id}/defence", response_model=ProposalOut, status_code=201,
             responses={200: replayed(ProposalOut, "the same defence again: unchanged"), **problems(404, 409)})
def submit_defence(proposal_id: RowId, body: DefenceIn, caller: Respondent, session: WriteSession, response: Response):
    """申辩: the practitioner's statement of defence, within the window."""
    answer, created = service.submit_defence(session, caller, proposal_id, body)
    mark_created(response, created)
    return answer


@router.post("/score-proposals/{proposal_id}/confirmation", response_model=ConfirmationOut, status_code=201,
             responses=problems(404, 409))
def confirm_score_proposal(proposal_id: RowId, body: DecisionIn, caller: Decider, session: WriteSession):
    """The bureau confirms: the entry counts from the confirmation or decision date (per ruleset)."""
    return service.confirm(session, caller, proposal_id, body.reason)


@router.post("/score-proposals/{proposal_id}/withdrawal", response_model=ProposalOut, status_code=201,
             responses=problems(404, 409))
def withdraw_score_proposal(proposal_id: RowId, body: DecisionIn, caller: Decider, session: WriteSession):
    return service.withdraw(session, caller, proposal_id, body.reason)


@router.post("/score-entries/{entry_id}/appeals", response_model=AppealOut, status_code=201,
             responses={200: replayed(AppealOut, "the same appeal again: unchanged"), **problems(404, 409)})
def file_appeal(entry_id: RowId, body: AppealIn, caller: Respondent, session: WriteSession, response: Response):
    """申诉 against a counting entry, within the ruleset's window."""
    answer, created = service.file_appeal(session, caller, entry_id, body)
    mark_created(response, created)
    return answer


@router.get("/score-appeals", response_model=AppealPage)
def list_appeals(
    caller: Reader, session: ReadSession, status: Literal["open", "upheld", "rejected"] | None = None,
    limit: PageLimit = 100, cursor: Annotated[str | None, Query(max_length=20)] = None,
):
    return service.list_appeals(session, caller, status=status, limit=limit, cursor=parse_cursor(cursor))


@router.get("/score-appeals/{appeal_id}", response_model=AppealOut, responses=problems(404))
def get_appeal(appeal_id: RowId, caller: Reader, session: ReadSession):
    return service.get_appeal(session, caller, appeal_id)


@router.post("/score-appeals/{appeal_id}/decision", response_model=AppealDecisionOut, status_code=201,
             responses=problems(404, 409))
def decide_appeal(appeal_id: RowId, body: AppealDecisionIn, caller: Decider, session: WriteSession):
    """Upheld appends a reversal (sanctions recomputed and lifted); rejected keeps the reason."""
    return service.decide_appeal(session, caller, appeal_id, body.outcome, body.reason)


@router.post("/score-entries/{entry_id}/statements", response_model=StatementOut, status_code=201,
             responses=problems(404))
def add_entry_statement(entry_id: RowId, body: StatementIn, caller: Respondent, session: WriteSession):
    """The practitioner's own statement on an entry; it stays on the dossier."""
    return service.add_statement(session, caller, entry_id, body)
