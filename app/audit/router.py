from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from app.audit import service
from app.audit.schemas import AuditPage
from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.kit.db import ReadSession
from app.kit.paging import PageLimit, parse_cursor
from app.kit.routes import api_router
from app.kit.timeutil import Instant

router = api_router(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[Caller, Depends(allowed(Action.audit_read))]


@router.get("", response_model=AuditPage)
def list_audit_records(
    caller: Auditor,
    session: ReadSession,
    object: Annotated[str | None, Query(max_length=120, description="type:id, e.g. practitioner:D150428000123")] = None,
    client: Annotated[str | None, Query(max_length=40, description="an API client id, or user:N / system:0")] = None,
    since: Annotated[Instant | None, Query(description="ISO 8601 instant; records at or after it")] = None,
    limit: PageLimit = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
):
    """The audit trail, oldest first: admins see every record, a bureau those of its region."""
    return service.list_records(session, caller, object=object, client=client, since=since,
                                limit=limit, cursor=parse_cursor(cursor))
