"""Domain events, written in the caller's transaction (the transactional outbox).

A change and its event commit together or not at all; the webhook worker reads this table
later. ``subject`` is what orders delivery (a practitioner code, a referral id); ``region`` and
``department`` scope it to subscribers: a bureau receives the events of its region and the
regions below it, a partner department only those naming its department (a referral to or from
it) in its region.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Field, Session, SQLModel

from app.kit.db import insert_many
from app.kit.timeutil import utcnow

# Every event type a webhook endpoint may subscribe to (what the domains write, or will).
EVENT_TYPES: tuple[str, ...] = (
    "score.recorded",
    "score.reversed",
    "standing.changed",
    "practitioner.moved",
    "referral.created",
    "referral.status_changed",
    "referral.overdue",
    "notice.published",
    "webhook.endpoint_disabled",  # operational: sent to the owner's other endpoints
)
# The types a partner department can ever receive: only events naming a department reach it.
PARTNER_EVENT_TYPES: tuple[str, ...] = (
    "referral.created",
    "referral.status_changed",
    "referral.overdue",
    "webhook.endpoint_disabled",
)


class Event(SQLModel, table=True):
    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=60, index=True)
    subject: str = Field(max_length=60, index=True)
    region: str = Field(max_length=6)
    # A second region whose subscribers receive it too: where the act happened, for a person scored
    # outside their home region (delivered once to an endpoint that covers both).
    also_region: str | None = Field(default=None, max_length=6)
    department: str | None = Field(default=None, max_length=40)
    payload: str  # JSON
    created_at: datetime = Field(default_factory=utcnow)


def emit(session: Session, type_: str, *, subject: str, region: str, data: dict[str, Any],
         department: str | None = None, also_region: str | None = None) -> Event:
    event = Event(type=type_, subject=subject, region=region, department=department,
                  also_region=also_region if also_region != region else None, payload=_payload(data))
    session.add(event)
    return event


def emit_many(session: Session, emitted: list[dict[str, Any]]) -> None:
    """Many events at once (``type``, ``subject``, ``region``, ``data``, optional ``department``), in one
    plain INSERT: a case of a hundred entries built a hundred ORM objects for nothing else. Pending
    changes are flushed first, so ids keep the order in which events were emitted."""
    if not emitted:
        return
    session.flush()
    now = utcnow()
    insert_many(session.connection(), Event.__table__, [
        {"type": e["type"], "subject": e["subject"], "region": e["region"], "department": e.get("department"),
         "also_region": e.get("also_region") if e.get("also_region") != e["region"] else None,
         "payload": _payload(e["data"]), "created_at": now}
        for e in emitted
    ])


def _payload(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
