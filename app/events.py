"""Domain events, written in the caller's transaction (the transactional outbox).

A change and its event commit together or not at all; the webhook worker reads this table
later. ``subject`` is what orders delivery (a practitioner code, a referral id), ``region`` is
what scopes it to subscribers.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Field, Session, SQLModel

from app.timeutil import utcnow


class Event(SQLModel, table=True):
    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=60, index=True)
    subject: str = Field(max_length=60, index=True)
    region: str = Field(max_length=6)
    payload: str  # JSON
    created_at: datetime = Field(default_factory=utcnow)


def emit(session: Session, type_: str, *, subject: str, region: str, data: dict[str, Any]) -> Event:
    event = Event(type=type_, subject=subject, region=region,
                  payload=json.dumps(data, ensure_ascii=False, sort_keys=True, default=str))
    session.add(event)
    return event
