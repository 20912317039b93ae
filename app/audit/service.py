"""Writing and reading the audit trail.

Services call ``record`` inside the transaction of the change they make, so the change and its
record commit together or not at all. The actor is the caller the service acted for; work the
service does on its own (the worker's jobs, the CLI) is recorded as a ``system`` principal.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert
from sqlmodel import Session, select

from app.audit.models import AuditRecord
from app.audit.schemas import AuditPage, AuditRecordOut
from app.auth.roles import Caller, Role
from app.kit.db import insert_many
from app.kit.observability import current_request_id
from app.kit.paging import keyset_page
from app.kit.timeutil import utcnow
from app.practitioners.identity import mask_codes_in
from app.shared import regions


def system_caller(name: str = "service") -> Caller:
    """The service acting on its own: a worker job, or an operator at the command line."""
    return Caller(client_id=0, name=name, role=Role.admin, region=regions.NATIONAL, kind="system")


def cli_caller() -> Caller:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in a bare container: still say it was the command line
        user = "unknown"
    return system_caller(f"cli:{user}")


_INSERT = insert(AuditRecord.__table__)


def record(session: Session, caller: Caller | None, action: str, object_type: str, object_id: object,
           region: str, summary: dict[str, Any] | None = None) -> None:
    """Write the audit row of one change in the session's transaction: a plain INSERT on its
    connection, so it commits or rolls back with the change (and costs no ORM object)."""
    record_many(session, caller, [Entry(action, object_type, object_id, region, summary)])


class Entry(NamedTuple):
    """One change to record: what was done (``action``), to which object, in which region."""

    action: str
    object_type: str
    object_id: object
    region: str
    summary: dict[str, Any] | None = None


def record_many(session: Session, caller: Caller | None, entries: Sequence[Entry]) -> None:
    """The audit rows of many changes made for one caller, in one statement in the session's
    transaction (a stream of score cases writes one per chunk, not one per case)."""
    if not entries:
        return
    actor = caller or system_caller()
    common = {"principal": actor.principal, "actor_name": actor.name, "role": str(actor.role),
              "actor_region": actor.region, "actor_department": actor.department,
              "request_id": current_request_id(), "at": utcnow()}
    rows = [{
        **common, "action": e.action, "object": f"{e.object_type}:{e.object_id}", "region": e.region,
        "summary": json.dumps(e.summary or {}, ensure_ascii=False, sort_keys=True, default=str),
    } for e in entries]
    if len(rows) == 1:
        session.connection().execute(_INSERT, rows[0])
    else:
        insert_many(session.connection(), AuditRecord.__table__, rows)


def principal_filter(client: str) -> str:
    """``12`` means API client 12; ``user:3`` and ``system:0`` name other principals."""
    return f"client:{client}" if client.isdigit() else client


def list_records(session: Session, caller: Caller, *, object: str | None, client: str | None,
                 since: datetime | None, limit: int, cursor: int | None) -> AuditPage:
    """Oldest first from ``since``; an admin sees everything, a bureau what lies in its region."""
    query = select(AuditRecord)
    if caller.role != Role.admin:
        query = query.where(regions.within(AuditRecord.region, caller.region))
    if object:
        query = query.where(AuditRecord.object == object)
    if client:
        query = query.where(AuditRecord.principal == principal_filter(client))
    if since is not None:
        query = query.where(AuditRecord.at >= since)
    rows, next_cursor = keyset_page(session, query, AuditRecord.id, limit, cursor)
    return AuditPage(items=[_out(r, masked=caller.role == Role.admin) for r in rows], next_cursor=next_cursor)


def _out(row: AuditRecord, masked: bool = False) -> AuditRecordOut:
    """An admin holds no personal data: it reads practitioner codes masked, as everywhere else."""
    if not masked:
        return AuditRecordOut(**row.model_dump(exclude={"summary"}), summary=json.loads(row.summary))
    return AuditRecordOut(**row.model_dump(exclude={"summary", "object"}), object=mask_codes_in(row.object),
                          summary=json.loads(mask_codes_in(row.summary)))
