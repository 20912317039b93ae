from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.kit.messages import t
from app.kit.timeutil import Instant
from app.shared.events import EVENT_TYPES

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]

_CONTROL = {*range(0x20), *range(0x7F, 0xA0)} - {0x09, 0x0A, 0x0D}


def _no_control_characters(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL: refused here, a 422 naming the field on both databases,
    # rather than a 500 on one and stored on the other. Tabs and line breaks stay allowed.
    if value is not None and any(ord(c) in _CONTROL for c in value):
        raise ValueError(t("must not contain control characters"))
    return value


Description = Annotated[str | None, Field(default=None, max_length=500), AfterValidator(_no_control_characters)]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "url": "https://settlement.example.cn/hooks/credit", "event_types": ["standing.changed", "score.recorded"],
        "description": "结算系统"}]})

    url: str = Field(min_length=1, max_length=2000)
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: Description = None


class EndpointPatch(BaseModel):
    """Only the fields given change. ``enabled: true`` re-enables a disabled endpoint."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))
    description: Description = None
    enabled: bool | None = None


class EndpointOut(BaseModel):
    id: int
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    previous_secret_valid_until: datetime | None = Field(
        description="while set, callbacks are signed with the previous secret too")
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="the signing secret; shown only in this answer")


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_body: str | None
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: int
    event_id: int
    event_type: str
    subject: str
    webhook_id: str
    status: str
    next_attempt_at: datetime | None
    last_status_code: int | None
    delivered_at: datetime | None
    created_at: datetime
    attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: int | None


class RecoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: Instant


class RecoverOut(BaseModel):
    requeued: int
