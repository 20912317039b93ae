from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Response

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.kit.db import ReadSession, WriteSession
from app.kit.openapi import problems
from app.kit.paging import PageLimit
from app.kit.routes import api_router
from app.practitioners import service
from app.practitioners.schemas import (
    Category,
    IdNumberSearch,
    InstitutionCode,
    InstitutionOut,
    InstitutionPage,
    InstitutionRecordIn,
    PractitionerCode,
    PractitionerIn,
    PractitionerOut,
    PractitionerPage,
    RegionCode,
)

router = api_router(prefix="/v1/practitioners", tags=["practitioners"])

Reader = Annotated[Caller, Depends(allowed(Action.practitioners_read))]
Writer = Annotated[Caller, Depends(allowed(Action.practitioners_write))]
Code = Annotated[PractitionerCode, Path(description="national staff code, e.g. D150428000123")]


@router.put("/{code}", response_model=PractitionerOut,
            responses={201: {"model": PractitionerOut}, **problems(404, 409)})
def put_practitioner(code: Code, body: PractitionerIn, caller: Writer, session: WriteSession, response: Response):
    """Register (登记备案) or update a practitioner: 201 when created, 200 when updated."""
    practitioner, created = service.put_practitioner(session, caller, code, body)
    if created:
        response.status_code = 201
    return service.describe(session, [practitioner])[0]


@router.get("/{code}", response_model=PractitionerOut, responses=problems(404))
def get_practitioner(code: Code, caller: Reader, session: ReadSession):
    return service.describe(session, [service.get_in_scope(session, caller, code)])[0]


@router.get("", response_model=PractitionerPage)
def list_practitioners(
    caller: Reader,
    session: ReadSession,
    region: Annotated[RegionCode | None, Query(description="this region and the regions below it")] = None,
    institution: Annotated[InstitutionCode | None, Query()] = None,
    category: Annotated[Category | None, Query()] = None,
    limit: PageLimit = 50,
    cursor: Annotated[str | None, Query(max_length=14)] = None,
):
    rows, next_cursor = service.list_practitioners(
        session, caller, region=region, institution=institution,
        category=category.value if category else None, limit=limit, cursor=cursor,
    )
    return PractitionerPage(items=service.describe(session, rows), next_cursor=next_cursor)


@router.post("/search", response_model=list[PractitionerOut])
def search_practitioners(body: IdNumberSearch, caller: Reader, session: WriteSession):
    """Exact search by ID number (in the body, so it never lands in a log). Audited: the trail
    records who searched and whom they found, never the number."""
    return service.describe(session, service.search_by_id_number(session, caller, body.id_number))


# ---------------------------------------------------------------- the institution registry

institutions_router = api_router(prefix="/v1/institutions", tags=["practitioners"])
InstitutionPath = Annotated[InstitutionCode, Path(description="H or P and 11 digits, e.g. H15042800001")]


@institutions_router.put("/{code}", response_model=InstitutionOut,
                         responses={201: {"model": InstitutionOut}, **problems(404)})
def put_institution(code: InstitutionPath, body: InstitutionRecordIn, caller: Writer, session: WriteSession,
                    response: Response):
    """Register (201) or rename (200) an institution. It belongs to the region its code names:
    only that region's bureau, or one above it, keeps it."""
    row, created = service.put_institution(session, caller, code, body)
    if created:
        response.status_code = 201
    return InstitutionOut(code=row.code, name=row.name, region=row.region)


@institutions_router.get("/{code}", response_model=InstitutionOut, responses=problems(404))
def get_institution(code: InstitutionPath, caller: Reader, session: ReadSession):
    row = service.get_institution(session, caller, code)
    return InstitutionOut(code=row.code, name=row.name, region=row.region)


@institutions_router.get("", response_model=InstitutionPage)
def list_institutions(caller: Reader, session: ReadSession,
                      region: Annotated[RegionCode | None, Query(description="this region and the regions below it")] = None,
                      limit: PageLimit = 50, cursor: Annotated[str | None, Query(max_length=12)] = None):
    rows, next_cursor = service.list_institutions(session, caller, region=region, limit=limit, cursor=cursor)
    return InstitutionPage(items=[InstitutionOut(code=r.code, name=r.name, region=r.region) for r in rows],
                           next_cursor=next_cursor)
