from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditRecordOut(BaseModel):
    id: int
    at: datetime
    principal: str
    actor_name: str
    role: str
    actor_region: str
    actor_department: str | None
    request_id: str | None
    action: str
    object: str
    region: str
    summary: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditRecordOut]
    next_cursor: str | None
