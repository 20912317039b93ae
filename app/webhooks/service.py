"""Webhook endpoints and their deliveries, as seen by the client that owns them.

A client sees and changes only its own endpoints (anything else is 404), and the URL is vetted
against the SSRF rule whenever it is set.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app import audit
from app.auth.roles import Caller, Role
from app.kit import keyring
from app.kit.errors import Conflict, Invalid, NotFound
from app.kit.messages import t
from app.kit.timeutil import utcnow
from app.settings import get_settings
from app.shared.events import PARTNER_EVENT_TYPES
from app.webhooks import signing, urlsafety
from app.webhooks.models import FAILED, PENDING, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
)


def vet_url(url: str) -> urlsafety.Target:
    settings = get_settings()
    return urlsafety.check(url, settings.webhook_allowed_hosts, settings.webhook_only_allowed_hosts,
                           loopback=settings.environment == "development")


def _vet_url_field(url: str) -> None:
    try:
        vet_url(url)
    except urlsafety.UnsafeUrl as exc:
        raise Invalid(t("The URL {problem}", problem=exc.args[0]), field="body.url") from None


def _vet_event_types(caller: Caller, event_types: list[str]) -> list[str]:
    if caller.role == Role.partner:
        unreachable = sorted(set(event_types) - set(PARTNER_EVENT_TYPES))
        if unreachable:
            raise Invalid(
                t("A partner department receives only {receivable}; not receivable: {unreachable}", receivable=list(PARTNER_EVENT_TYPES), unreachable=unreachable), field="body.event_types")
    return sorted(set(event_types))


def _box() -> signing.SecretBox:
    return signing.box(keyring.masters())


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    box = _box()
    secrets = [box.open(endpoint.secret_sealed)]
    if endpoint.previous_secret_sealed and endpoint.previous_secret_until and now < endpoint.previous_secret_until:
        secrets.append(box.open(endpoint.previous_secret_sealed))
    return secrets


def create_endpoint(session: Session, caller: Caller, data: EndpointIn,
                    now: datetime | None = None) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (returned only here, stored sealed)."""
    now = now or utcnow()
    _vet_url_field(data.url)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        client_id=caller.client_id, url=data.url, description=data.description,
        event_types=json.dumps(_vet_event_types(caller, data.event_types)),
        secret_sealed=_box().seal(secret), created_at=now, updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    _audit(session, caller, "webhook_endpoint.create", endpoint.id, {"url": endpoint.url,
                                                                    "event_types": json.loads(endpoint.event_types)})
    session.commit()
    return endpoint, secret


def _audit(session: Session, caller: Caller, action: str, endpoint_id: int, summary: dict) -> None:
    """Endpoints belong to a client, not to a region: the record is filed under the owner's region."""
    audit.record(session, caller, action, "webhook_endpoint", endpoint_id, caller.region, summary)


def get_endpoint(session: Session, caller: Caller, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if for_update:
        stmt = stmt.with_for_update()
    endpoint = session.exec(stmt).first()
    if endpoint is None or endpoint.client_id != caller.client_id:
        raise NotFound(t("No webhook endpoint {endpoint_id} of yours", endpoint_id=endpoint_id))
    return endpoint


def list_endpoints(session: Session, caller: Caller) -> list[WebhookEndpoint]:
    return list(session.exec(
        select(WebhookEndpoint).where(WebhookEndpoint.client_id == caller.client_id).order_by(WebhookEndpoint.id)
    ))


def update_endpoint(session: Session, caller: Caller, endpoint_id: int, patch: EndpointPatch,
                    now: datetime | None = None) -> WebhookEndpoint:
    now = now or utcnow()
    endpoint = get_endpoint(session, caller, endpoint_id, for_update=True)
    given = patch.model_fields_set
    for field in ("url", "event_types", "enabled"):
        if field in given and getattr(patch, field) is None:
            raise Invalid(t("{field} cannot be null", field=field), field=f"body.{field}")
    if "url" in given:
        _vet_url_field(patch.url)
        endpoint.url = patch.url
    if "event_types" in given:
        endpoint.event_types = json.dumps(_vet_event_types(caller, patch.event_types))
    if "description" in given:
        endpoint.description = patch.description
    if "enabled" in given and patch.enabled != endpoint.enabled:
        endpoint.enabled = patch.enabled
        endpoint.consecutive_failures = 0
        endpoint.disabled_at = None if patch.enabled else now
        endpoint.disabled_reason = None if patch.enabled else "disabled by its owner"
    endpoint.updated_at = now
    session.add(endpoint)
    _audit(session, caller, "webhook_endpoint.update", endpoint.id, {"fields": sorted(given)})
    session.commit()
    return endpoint


def delete_endpoint(session: Session, caller: Caller, endpoint_id: int) -> None:
    """Removes the endpoint with its deliveries and attempts (the database cascades)."""
    endpoint = get_endpoint(session, caller, endpoint_id, for_update=True)
    session.delete(endpoint)
    _audit(session, caller, "webhook_endpoint.delete", endpoint_id, {"url": endpoint.url})
    session.commit()


def rotate_secret(session: Session, caller: Caller, endpoint_id: int,
                  now: datetime | None = None) -> tuple[WebhookEndpoint, str]:
    """A new secret; the one it replaces keeps signing for the grace period (a secret replaced
    earlier, still in its own grace period, stops signing now)."""
    now = now or utcnow()
    endpoint = get_endpoint(session, caller, endpoint_id, for_update=True)
    secret = signing.new_secret()
    grace = timedelta(hours=get_settings().webhook_secret_grace_hours)
    endpoint.previous_secret_sealed = endpoint.secret_sealed if grace else None
    endpoint.previous_secret_until = now + grace if grace else None
    endpoint.secret_sealed = _box().seal(secret)
    endpoint.updated_at = now
    session.add(endpoint)
    _audit(session, caller, "webhook_endpoint.rotate_secret", endpoint.id,
           {"previous_secret_until": endpoint.previous_secret_until})
    session.commit()
    return endpoint, secret


def list_deliveries(session: Session, caller: Caller, endpoint_id: int, *, status: str | None = None,
                    limit: int = 50, cursor: int | None = None) -> tuple[list[DeliveryOut], int | None]:
    """Newest first, keyset pages: pass ``next_cursor`` back as ``cursor``."""
    get_endpoint(session, caller, endpoint_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if cursor is not None:
        stmt = stmt.where(col(WebhookDelivery.id) < cursor)
    rows = list(session.exec(stmt.order_by(col(WebhookDelivery.id).desc()).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return describe(session, rows[:limit]), next_cursor


def describe(session: Session, deliveries: list[WebhookDelivery]) -> list[DeliveryOut]:
    ids = [d.id for d in deliveries]
    attempts: dict[int, list[AttemptOut]] = {i: [] for i in ids}
    if ids:
        for a in session.exec(select(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids))
                              .order_by(WebhookAttempt.id)):
            attempts[a.delivery_id].append(AttemptOut.model_validate(a, from_attributes=True))
    return [
        DeliveryOut(
            id=d.id, endpoint_id=d.endpoint_id, event_id=d.event_id, event_type=d.event_type, subject=d.subject,
            webhook_id=d.msg_id, status=d.status, next_attempt_at=d.next_attempt_at if d.status == PENDING else None,
            last_status_code=d.last_status_code, delivered_at=d.delivered_at, created_at=d.created_at,
            attempts=attempts[d.id],
        )
        for d in deliveries
    ]


def redeliver(session: Session, caller: Caller, delivery_id: int, now: datetime | None = None) -> WebhookDelivery:
    """Queue a finished delivery (failed or succeeded) again, with the same ``webhook-id``."""
    now = now or utcnow()
    delivery = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    ).first()
    if delivery is None:
        raise NotFound(t("No delivery {delivery_id} of yours", delivery_id=delivery_id))
    get_endpoint(session, caller, delivery.endpoint_id)  # 404 when it is not the caller's
    if delivery.status == PENDING:
        raise Conflict(t("The delivery is already queued"))
    _requeue(delivery, now)
    session.add(delivery)
    _audit(session, caller, "webhook_delivery.redeliver", delivery.endpoint_id,
           {"delivery_id": delivery.id, "webhook_id": delivery.msg_id})
    session.commit()
    return delivery


def recover(session: Session, caller: Caller, endpoint_id: int, since: datetime,
            now: datetime | None = None) -> int:
    """Queue again every failed delivery of the endpoint created since ``since``."""
    now = now or utcnow()
    get_endpoint(session, caller, endpoint_id, for_update=True)
    failed = session.exec(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == FAILED,
            col(WebhookDelivery.created_at) >= since,
        ).with_for_update()
    ).all()
    for delivery in failed:
        _requeue(delivery, now)
        session.add(delivery)
    _audit(session, caller, "webhook_endpoint.recover", endpoint_id, {"since": since, "requeued": len(failed)})
    session.commit()
    return len(failed)


def _requeue(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = PENDING
    delivery.failures = 0
    delivery.next_attempt_at = now
    delivery.locked_until = None
    delivery.locked_by = None


def endpoint_out(endpoint: WebhookEndpoint, secret: str | None = None, now: datetime | None = None) -> EndpointOut:
    now = now or utcnow()
    grace = endpoint.previous_secret_until
    fields = dict(
        id=endpoint.id, url=endpoint.url, description=endpoint.description,
        event_types=json.loads(endpoint.event_types), enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason, disabled_at=endpoint.disabled_at,
        consecutive_failures=endpoint.consecutive_failures,
        previous_secret_valid_until=grace if grace and grace > now else None,
        created_at=endpoint.created_at, updated_at=endpoint.updated_at,
    )
    return EndpointWithSecret(secret=secret, **fields) if secret else EndpointOut(**fields)


def reseal_secrets(session: Session) -> int:
    """Seal every stored endpoint secret under the current master secret (after a rotation).
    Returns how many values were rewritten; running it again rewrites nothing. Commits."""
    box, rewritten = _box(), 0
    for endpoint in session.exec(select(WebhookEndpoint).order_by(WebhookEndpoint.id).with_for_update()):
        for field in ("secret_sealed", "previous_secret_sealed"):
            sealed = getattr(endpoint, field)
            fresh = box.reseal(sealed) if sealed else None
            if fresh is not None:
                setattr(endpoint, field, fresh)
                session.add(endpoint)
                rewritten += 1
    session.commit()
    return rewritten
