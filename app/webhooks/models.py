from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="api_clients.id", index=True)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: str  # JSON list
    secret_sealed: str = Field(max_length=500)
    previous_secret_sealed: str | None = Field(default=None, max_length=500)
    previous_secret_until: datetime | None = None
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=200)
    disabled_at: datetime | None = None
    consecutive_failures: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint. ``msg_id`` is the ``webhook-id``: fixed at fan-out, so every
    retry, redelivery or take-over by another worker sends the same id."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "subject", "event_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoints.id", ondelete="CASCADE")
    event_id: int = Field(foreign_key="events.id")
    event_type: str = Field(max_length=60)
    subject: str = Field(max_length=60)
    msg_id: str = Field(max_length=40, unique=True)
    status: str = Field(default=PENDING, max_length=20)
    failures: int = 0  # failed attempts in a row since the last (re)queueing: the retry step
    next_attempt_at: datetime
    locked_until: datetime | None = None  # the claiming worker's lease
    locked_by: str | None = Field(default=None, max_length=40)
    last_status_code: int | None = None
    delivered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_deliveries.id", index=True, ondelete="CASCADE")
    attempted_at: datetime
    status_code: int | None = None
    latency_ms: int
    response_body: str | None = None  # the first 2 KB
    error: str | None = Field(default=None, max_length=500)
    worker: str = Field(max_length=40)


class WebhookFanout(SQLModel, table=True):
    """The fan-out's progress. Events below ``floor_event_id`` are all fanned out; above it,
    ``webhook_fanned_out`` marks each one done. A plain high-water mark is not enough on
    PostgreSQL: ids are taken in one order and committed in another, so an event with a lower
    id can become visible after a higher one was already passed."""

    __tablename__ = "webhook_fanout"

    id: int = Field(default=1, primary_key=True)
    floor_event_id: int = 0


class WebhookFannedOut(SQLModel, table=True):
    __tablename__ = "webhook_fanned_out"

    event_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
