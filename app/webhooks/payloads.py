"""What the service POSTs to a webhook endpoint, declared in the OpenAPI document's ``webhooks``
section (OpenAPI 3.1): one entry per event type an endpoint may subscribe to
(``app.shared.events.EVENT_TYPES``), its message ``{type, timestamp, data}`` (app/webhooks/delivery.py
``body_of``) with the ``data`` each domain writes, and the Standard Webhooks signature headers
(app/webhooks/signing.py). tests/test_contract.py checks the declared set against the code.

No ``from __future__ import annotations`` here: the receivers' signatures are built from models
chosen at run time, and FastAPI reads them as objects.
"""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header
from pydantic import BaseModel, ConfigDict, Field, create_model

from app.shared.events import EVENT_TYPES, PARTNER_EVENT_TYPES


class _Data(BaseModel):
    # A receiver must ignore fields it does not know (docs/api-policy.md): new ones may be added.
    model_config = ConfigDict(extra="allow")


class ScoreRecorded(_Data):
    entry_id: int
    case_id: int
    case_ref: str
    practitioner: str = Field(description="national staff code")
    violation_type: str
    points: int
    effective_on: date
    year: int
    year_total: int = Field(description="the practitioner's points in that year, this entry included")


class ScoreReversed(_Data):
    reversal_id: int
    entry_id: int
    practitioner: str
    reason: str
    year_total: int


class Standing(_Data):
    """The standing as GET /v1/practitioners/{code}/standing answers it (StandingOut), on the day of the event."""
    code: str
    at: date
    status: Literal["active", "suspended", "terminated", "not_registered"]
    billing_allowed: bool
    emergency_allowed: bool
    year: int
    points: int


class StandingChanged(_Data):
    practitioner: str
    cause: str = Field(description="what moved it, e.g. case 12, reversal of entry 7")
    before: Standing
    after: Standing
    created: list[dict[str, Any]] = Field(default=[], description="sanctions created")
    changed: list[dict[str, Any]] = Field(default=[], description="sanctions whose terms changed")
    lifted: list[dict[str, Any]] = Field(default=[], description="sanctions lifted")


class PractitionerMoved(_Data):
    practitioner: str
    from_: str = Field(alias="from", description="the region they left")
    to: str = Field(description="the region they are registered in now")


class ReferralCreated(_Data):
    referral_id: int
    kind: Literal["case", "notification"]
    direction: str
    department: str
    status: str
    clue_category: str
    institutions: list[str]
    practitioners: list[str]
    score_case_id: int | None
    sanction_id: int | None


class ReferralStatusChanged(_Data):
    referral_id: int
    kind: Literal["case", "notification"]
    direction: str
    department: str
    action: str = Field(description="send, receive, file, decline, conclude, return, extend, remind, withdraw, close")
    from_: str = Field(alias="from")
    to: str
    side: Literal["sender", "recipient"]
    occurred_on: date
    reason: str | None
    outcome: dict[str, Any] | None


class ReferralOverdue(_Data):
    referral_id: int
    kind: Literal["case", "notification"]
    direction: str
    department: str
    status: str
    deadline: str = Field(description="which deadline passed")
    due_on: date
    provisional: bool = Field(description="counted across a year whose holidays are not loaded (weekends only)")
    as_of: date


class NoticePublished(_Data):
    notice_id: int
    region: str
    year: int
    revision: int
    sha256: str
    rows: int
    previous_id: int | None


class EndpointDisabled(_Data):
    endpoint_id: int
    client_id: int
    url: str
    reason: str
    consecutive_failures: int
    disabled_at: str = Field(description="ISO 8601 instant")


PAYLOADS: dict[str, type[_Data]] = {
    "score.recorded": ScoreRecorded,
    "score.reversed": ScoreReversed,
    "standing.changed": StandingChanged,
    "practitioner.moved": PractitionerMoved,
    "referral.created": ReferralCreated,
    "referral.status_changed": ReferralStatusChanged,
    "referral.overdue": ReferralOverdue,
    "notice.published": NoticePublished,
    "webhook.endpoint_disabled": EndpointDisabled,
}
assert set(PAYLOADS) == set(EVENT_TYPES), "every event type an endpoint may subscribe to has a declared payload"

_DESCRIPTIONS = {
    "score.recorded": "An entry counts (a completed case, or a proposal confirmed).",
    "score.reversed": "An entry was reversed (appeal upheld, reconsideration, error).",
    "standing.changed": "Sanctions were created, changed or lifted, or today's standing moved.",
    "practitioner.moved": "A practitioner is now registered in another region (sent to both).",
    "referral.created": "A referral was drawn up (a draft).",
    "referral.status_changed": "A referral took a lifecycle step.",
    "referral.overdue": "A referral's working-day deadline passed.",
    "notice.published": "A public notice (or a correcting revision) was frozen.",
    "webhook.endpoint_disabled": "One of the owner's endpoints was disabled after repeated failures "
                                 "(sent to its other endpoints).",
}

WebhookId = Annotated[str, Header(alias="webhook-id", description=(
    "the message id: the same on every attempt and redelivery; de-duplicate on it"))]
WebhookTimestamp = Annotated[str, Header(alias="webhook-timestamp", pattern=r"^[0-9]+$", description=(
    "Unix seconds when signed; refuse messages far from your clock"))]
WebhookSignature = Annotated[str, Header(alias="webhook-signature", description=(
    "space-separated `v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">`, one per "
    "secret in use (two during a rotation); accept if any verifies (standardwebhooks.com)"))]


def _message(event_type: str, data: type[_Data]) -> type[BaseModel]:
    name = "".join(part.capitalize() for part in event_type.replace("_", ".").split(".")) + "Event"
    return create_model(
        name,
        type=(Literal[event_type], ...),  # type: ignore[valid-type]
        timestamp=(str, Field(description="ISO 8601 instant, UTC, when the event happened")),
        data=(data, ...),
    )


def _receiver(event_type: str, message: type[BaseModel]):
    def receive(body: message, webhook_id: WebhookId, webhook_timestamp: WebhookTimestamp,  # type: ignore[valid-type]
                webhook_signature: WebhookSignature) -> None:
        """Documentation only: what your endpoint receives."""

    receive.__name__ = "on_" + event_type.replace(".", "_")
    return receive


def declare(app: FastAPI) -> None:
    """Add every deliverable event type to ``app.webhooks`` (shown as the document's ``webhooks``)."""
    for event_type, data in PAYLOADS.items():
        audience = "bureaus and partner departments" if event_type in PARTNER_EVENT_TYPES else "bureaus"
        app.webhooks.add_api_route(
            event_type, _receiver(event_type, _message(event_type, data)), methods=["POST"],
            operation_id="on_" + event_type.replace(".", "_"), tags=["webhooks"],
            summary=event_type, description=f"{_DESCRIPTIONS[event_type]} Sent to {audience} subscribed to "
                                            f"`{event_type}`. Answer any 2xx within the timeout; anything "
                                            "else is retried with backoff, then the endpoint is disabled.",
            responses={200: {"description": "received (any 2xx)"}})
