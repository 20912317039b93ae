from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.dossier import service
from app.dossier.schemas import DossierOut
from app.kit.db import ReadSession
from app.kit.openapi import problems
from app.kit.routes import api_router
from app.practitioners.schemas import PractitionerCode

router = api_router(prefix="/v1", tags=["scoring"])  # the tag it has always had in the API document

DossierReader = Annotated[Caller, Depends(allowed(Action.practitioners_read))]
Code = Annotated[PractitionerCode, Path(description="national staff code")]


@router.get("/practitioners/{code}/dossier", response_model=DossierOut, responses=problems(404))
def get_dossier(code: Code, caller: DossierReader, session: ReadSession):
    """一人一档: everything about one practitioner."""
    return service.dossier(session, caller, code)
