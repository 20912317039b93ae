"""The working-day calendar: which years have official holidays, and loading a year."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Response

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.calendar import files, service
from app.calendar.schemas import LoadOut, YearIn, YearOut, YearsOut
from app.kit.db import ReadSession, WriteSession
from app.kit.openapi import problems
from app.kit.routes import api_router

router = api_router(prefix="/v1/calendar", tags=["calendar"])

Reader = Annotated[Caller, Depends(allowed(Action.calendar_read))]
Loader = Annotated[Caller, Depends(allowed(Action.calendar_load))]
Year = Annotated[int, Path(ge=files.FIRST_YEAR, le=files.LAST_YEAR)]


@router.get("/years", response_model=YearsOut)
def list_calendar_years(caller: Reader, session: ReadSession):
    """The years whose official holidays and adjusted working days are loaded, with where each
    came from. A deadline counted across any other year is provisional (weekends only)."""
    return service.years(session)


@router.get("/years/{year}", response_model=YearOut, responses=problems(404))
def get_calendar_year(year: Year, caller: Reader, session: ReadSession):
    """One covered year with its days."""
    return service.year(session, year)


@router.put("/years/{year}", response_model=LoadOut, status_code=200,
            responses={201: {"model": LoadOut, "description": "the year's first version"}, **problems(422)})
def load_calendar_year(year: Year, body: YearIn, caller: Loader, session: WriteSession, response: Response):
    """Load the year's official days from the State Council's notice, or replace them with a
    corrected version. Stored deadlines that counted the year are recomputed in the same
    transaction and never shortened; the load and every changed deadline are audited. The same
    days again change nothing (200, `changed: false`)."""
    loaded = service.load_request(session, caller, year, body)
    if loaded.created:
        response.status_code = 201
    return service.load_out(session, loaded)
