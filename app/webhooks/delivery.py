"""The webhook worker: fan events out to endpoints, claim due deliveries, POST them, record.

Three short transactions per delivery, none held across the HTTP call:
1. fan-out: new event rows (the outbox) become one delivery row per subscribed endpoint;
2. claim: a due delivery gets a lease (``locked_until``) under ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL (``BEGIN IMMEDIATE`` on SQLite), so concurrent workers never pick the same one;
3. acknowledge: the attempt is recorded and the delivery succeeds, is rescheduled or fails.
A worker that dies between 2 and 3 loses nothing: when the lease runs out the delivery is due
again and goes out with the same ``webhook-id`` (at-least-once; receivers de-duplicate on it).
A worker told to stop does better: it finishes the call in flight or releases its claim at once.

One endpoint's trouble is never the worker's: whatever preparing, sending or recording one
attempt raises (a URL the HTTP client refuses, a resolver or TLS error, a secret that does not
open, an answer the database cannot store) becomes a failed attempt of that delivery, with its
backoff, and the worker goes on with the others. An exception escaping the loop would leave the
same delivery first in line on every round and stop every endpoint's deliveries.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets as _random
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import exists, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, delete, func, select

from app.auth.models import ApiClient
from app.kit.db import get_engine, is_sqlite, write_session
from app.kit.observability import DELIVERY_FAILURES, count_on_commit
from app.kit.timeutil import utcnow
from app.settings import get_settings
from app.shared import events
from app.shared.events import Event
from app.webhooks import rules, service, signing, urlsafety
from app.webhooks.models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookFannedOut,
    WebhookFanout,
)
from app.webhooks.transport import PinnedTransport

logger = logging.getLogger("app.webhooks")

POLL_SECONDS = 1.0
DELIVERIES_PER_RUN = 50
FANOUT_BATCH = 500
# No writing transaction lasts this long, so an event older than this is committed or gone, and
# the fan-out floor may pass it (see WebhookFanout).
SETTLE = timedelta(minutes=10)
USER_AGENT = "practitioner-credit-webhooks/1"


# --- 1. fan-out --------------------------------------------------------------------------------

def fan_out(now: datetime | None = None, limit: int = FANOUT_BATCH) -> int:
    """Turn up to ``limit`` new events into deliveries; returns how many events it handled."""
    now = now or utcnow()
    with write_session() as session:
        state = session.exec(select(WebhookFanout).where(WebhookFanout.id == 1).with_for_update()).first()
        if state is None:
            state = WebhookFanout(id=1, floor_event_id=0)
            session.add(state)
            try:
                session.flush()
            except IntegrityError:  # another worker created it first: go again next time
                session.rollback()
                return 0
        settled = session.exec(
            select(func.max(Event.id)).where(Event.id > state.floor_event_id, Event.created_at < now - SETTLE)
        ).one()
        done = exists().where(WebhookFannedOut.event_id == Event.id)
        batch = list(session.exec(
            select(Event).where(Event.id > state.floor_event_id, ~done).order_by(Event.id).limit(limit)
        ))
        if batch:
            _fan_out_events(session, batch, now)
        if settled is not None and len(batch) == limit:
            settled = min(settled, batch[-1].id)
        if settled is not None and settled > state.floor_event_id:
            state.floor_event_id = settled
            session.add(state)
            session.flush()
            session.exec(delete(WebhookFannedOut).where(col(WebhookFannedOut.event_id) <= settled))
        session.commit()
        return len(batch)


def _fan_out_events(session: Session, batch: list[Event], now: datetime) -> None:
    rows = session.exec(
        select(WebhookEndpoint, ApiClient)
        .join(ApiClient, ApiClient.id == WebhookEndpoint.client_id)
        .where(col(WebhookEndpoint.enabled).is_(True), col(ApiClient.revoked_at).is_(None))
    ).all()
    subscribers = []
    for endpoint, client in rows:
        types = _event_types(endpoint)
        if types is not None:
            subscribers.append((endpoint, rules.Owner(client.id, client.role, client.region, client.department), types))
    for event in batch:
        view = _view(event)
        for endpoint, owner, types in subscribers:
            # An endpoint hears of changes from its creation on, not of the history before it.
            if endpoint.created_at <= event.created_at and rules.wants(owner, types, view):
                session.add(WebhookDelivery(
                    endpoint_id=endpoint.id, event_id=event.id, event_type=event.type, subject=event.subject,
                    msg_id="msg_" + _random.token_hex(16), next_attempt_at=now,
                ))
        session.add(WebhookFannedOut(event_id=event.id))


def _event_types(endpoint: WebhookEndpoint) -> list[str] | None:
    """The endpoint's subscribed types, or None for a row that cannot be read (written by hand or
    by an old version): that endpoint is skipped, loudly, rather than stopping every fan-out."""
    try:
        types = json.loads(endpoint.event_types)
    except (TypeError, ValueError):
        types = None
    if isinstance(types, list) and all(isinstance(t, str) for t in types):
        return types
    logger.error("webhook endpoint %s: unreadable event_types; it receives nothing until they are set again",
                 endpoint.id)
    return None


def _view(event: Event) -> rules.EventView:
    client_id = None
    if event.type == rules.OPERATIONAL:
        client_id = json.loads(event.payload).get("client_id")
    return rules.EventView(event.type, event.region, event.department, client_id, event.also_region)


# --- 2. claim ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    endpoint_id: int
    msg_id: str
    url: str
    secrets: list[str] = field(repr=False)
    body: bytes = field(repr=False)
    lease_token: str
    # Why the delivery cannot be sent at all (its signing secret does not open): the attempt then
    # fails with this reason instead of the whole claim failing, again and again, for everyone.
    unsendable: str | None = None


def claim(now: datetime | None = None, *, worker: str, limit: int = 1) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``worker``. Per endpoint and subject only the
    oldest pending delivery is due: a later event waits while an earlier one is pending."""
    now = now or utcnow()
    lease = timedelta(seconds=get_settings().webhook_lease_seconds)
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.subject == WebhookDelivery.subject,
        earlier.event_id < WebhookDelivery.event_id,
        earlier.status == PENDING,
    )
    stmt = (
        select(WebhookDelivery)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(col(WebhookDelivery.locked_until).is_(None), col(WebhookDelivery.locked_until) <= now),
            col(WebhookEndpoint.enabled).is_(True),
            ~blocked,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if not is_sqlite(get_engine()):  # SQLite has one writer at a time: BEGIN IMMEDIATE suffices
        stmt = stmt.with_for_update(of=WebhookDelivery, skip_locked=True)
    claimed = []
    with write_session() as session:
        for delivery in session.exec(stmt).all():
            token = f"{worker[:27]}/{_random.token_hex(6)}"
            delivery.locked_until = now + lease
            delivery.locked_by = token
            session.add(delivery)
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            event = session.get(Event, delivery.event_id)
            secrets, body, unsendable = _prepare(endpoint, event, now)
            claimed.append(Claimed(
                delivery_id=delivery.id, endpoint_id=endpoint.id, msg_id=delivery.msg_id, url=endpoint.url,
                secrets=secrets, body=body, lease_token=token, unsendable=unsendable,
            ))
        session.commit()
    return claimed


def _prepare(endpoint: WebhookEndpoint, event: Event, now: datetime) -> tuple[list[str], bytes, str | None]:
    """The signing secrets and the body, or the reason they cannot be had."""
    try:
        secrets = service.signing_secrets(endpoint, now)
    except Exception as exc:  # InvalidToken: sealed under a master secret that is gone
        logger.error("webhook endpoint %s: its signing secret cannot be opened (%s)", endpoint.id,
                     type(exc).__name__)
        return [], b"", "the endpoint's signing secret cannot be opened (a master secret missing after a rotation?)"
    try:
        return secrets, body_of(event), None
    except Exception as exc:
        logger.exception("event %s: its body cannot be built", event.id)
        return [], b"", describe_error(exc)


def body_of(event: Event) -> bytes:
    """``{type, timestamp, data}``: the same bytes on every attempt."""
    created = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    message = {"type": event.type, "timestamp": created, "data": json.loads(event.payload)}
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


# --- the HTTP call (no transaction open) -------------------------------------------------------

@dataclass(frozen=True)
class Result:
    status_code: int | None
    headers: dict[str, str]
    body_head: str | None
    error: str | None
    latency_ms: int
    in_time: bool


def send(claimed: Claimed, *, timeout: float | None = None, transport: httpx.BaseTransport | None = None) -> Result:
    """One POST, to the address vetted just now; redirects are not followed. Never raises: any
    error is the Result of a failed attempt (see the module's docstring)."""
    if claimed.unsendable is not None:
        return Result(None, {}, None, claimed.unsendable[:ERROR_CHARS], 0, False)
    try:
        return _send(claimed, timeout, transport)
    except Exception as exc:
        logger.warning("delivery %s: the attempt failed before a request was made: %s", claimed.delivery_id,
                       type(exc).__name__)
        return Result(None, {}, None, describe_error(exc), 0, False)


def _send(claimed: Claimed, timeout: float | None, transport: httpx.BaseTransport | None) -> Result:
    settings = get_settings()
    timeout = timeout if timeout is not None else settings.webhook_timeout_seconds
    try:
        target = urlsafety.check(claimed.url, settings.webhook_allowed_hosts, settings.webhook_only_allowed_hosts,
                                 loopback=settings.environment == "development")
    except urlsafety.UnsafeUrl as exc:
        return Result(None, {}, None, f"refused: the URL {exc}", 0, False)
    headers = signing.headers(claimed.secrets, claimed.msg_id, int(time.time()), claimed.body)
    headers.update({"content-type": "application/json", "user-agent": USER_AGENT})
    started = time.monotonic()
    status, answer_headers, head, error = None, {}, None, None
    try:
        with _Deadline(timeout) as deadline, httpx.Client(
                transport=PinnedTransport(target, transport), timeout=timeout, follow_redirects=False) as client:
            with client.stream("POST", claimed.url, content=claimed.body, headers=headers,
                               extensions={"trace": deadline.trace}) as response:
                status, answer_headers = response.status_code, dict(response.headers)
                head = _read_head(response)
    except httpx.TimeoutException:
        error = f"no answer within {timeout:g} s"
    except Exception as exc:  # httpx.HTTPError, and what httpx does not wrap (InvalidURL, ssl, OSError...)
        error = describe_error(exc)
    if deadline.expired:  # whichever came first, the read timeout or the deadline: the same failure
        status, answer_headers, head = None, {}, None
        error = f"no answer within {timeout:g} s"
    latency = time.monotonic() - started
    in_time = error is None and latency <= timeout
    if error is None and not in_time:
        error = f"answered after {latency:.1f} s, beyond the {timeout:g} s timeout"
    return Result(status, answer_headers, head, error, int(latency * 1000), in_time)


class _Deadline:
    """Cuts an attempt off once ``seconds`` have passed since it began, whatever it is waiting for.

    httpx's timeouts bound each network operation, not the attempt: a receiver sending a byte
    every few seconds would hold the worker, and with it every other endpoint's deliveries, for
    hours. The connection's socket is learnt from httpcore's trace and shut down when time is up,
    which wakes the blocked read with an error."""

    def __init__(self, seconds: float):
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def trace(self, name: str, info: dict) -> None:
        if name != "connection.connect_tcp.complete":
            return
        sock = info["return_value"].get_extra_info("socket")
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            late = self.expired
        if late:  # connected just as time ran out
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already: the attempt ended by itself


def _read_head(response: httpx.Response) -> str:
    kept = b""
    for chunk in response.iter_raw():
        kept += chunk
        if len(kept) >= rules.RESPONSE_KEEP_BYTES:
            break
    # PostgreSQL text cannot hold NUL: a receiver answering one must not make the attempt unrecordable.
    return kept[: rules.RESPONSE_KEEP_BYTES].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


ERROR_CHARS = 500  # the attempts' error column
_UNPRINTABLE = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)], "?")


def describe_error(exc: BaseException) -> str:
    """One line naming the error, storable on both databases (no NUL, no line breaks) and short."""
    return f"{type(exc).__name__}: {exc}".translate(_UNPRINTABLE)[:ERROR_CHARS]


# --- 3. acknowledge ----------------------------------------------------------------------------

def acknowledge(claimed: Claimed, result: Result, now: datetime | None = None, *, worker: str,
                rng: random.Random | None = None) -> str:
    """Record the attempt and move the delivery on; returns what became of it."""
    now = now or utcnow()
    rng = rng or random.Random()
    settings = get_settings()
    with write_session() as session:
        delivery = session.exec(
            select(WebhookDelivery).where(WebhookDelivery.id == claimed.delivery_id).with_for_update()
        ).first()
        if delivery is None:
            return "deleted"  # its endpoint was deleted meanwhile
        session.add(WebhookAttempt(
            delivery_id=delivery.id, attempted_at=now, status_code=result.status_code,
            latency_ms=result.latency_ms, response_body=result.body_head, error=result.error, worker=worker[:40],
        ))
        if delivery.locked_by != claimed.lease_token:
            # The lease ran out and another worker owns the delivery now: it decides what follows.
            session.commit()
            logger.warning("delivery %s: lease lost before acknowledgement", delivery.id)
            return "lease lost"
        endpoint = session.exec(
            select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id).with_for_update()
        ).one()
        outcome = rules.classify(result.status_code, result.headers, now)
        if not (outcome.success and result.in_time):
            count_on_commit(session, DELIVERY_FAILURES, reason=_failure_reason(result))
        delivery.locked_by, delivery.locked_until = None, None
        delivery.last_status_code = result.status_code
        if outcome.success and result.in_time:
            delivery.status, delivery.delivered_at = SUCCEEDED, now
            endpoint.consecutive_failures = 0
            what = SUCCEEDED
        elif outcome.gone:
            delivery.status = what = FAILED
            if endpoint.enabled:
                _disable(session, endpoint, "the receiver answered 410 Gone", now)
        else:
            delivery.failures += 1
            retry_at = rules.next_attempt(delivery.failures, now, rng, outcome.retry_after)
            if retry_at is None:
                delivery.status = what = FAILED
            else:
                delivery.next_attempt_at, what = retry_at, "retry"
            endpoint.consecutive_failures += 1
            if endpoint.enabled and endpoint.consecutive_failures >= settings.webhook_disable_after_failures:
                _disable(session, endpoint, f"{endpoint.consecutive_failures} consecutive failed attempts", now)
        session.add(delivery)
        session.add(endpoint)
        session.commit()
        return what


def _failure_reason(result: Result) -> str:
    """A small fixed set of labels for the failure counter."""
    if result.status_code is None:
        return "no_response"
    if 200 <= result.status_code < 300:
        return "too_slow"
    return f"http_{result.status_code // 100}xx"


def _disable(session: Session, endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    endpoint.updated_at = now
    owner = session.get(ApiClient, endpoint.client_id)
    events.emit(session, rules.OPERATIONAL, subject=f"webhook-endpoint:{endpoint.id}", region=owner.region,
                department=owner.department, data={
                    "endpoint_id": endpoint.id, "client_id": owner.id, "url": endpoint.url, "reason": reason,
                    "consecutive_failures": endpoint.consecutive_failures, "disabled_at": now.isoformat(),
                })
    logger.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)


# --- the job -----------------------------------------------------------------------------------

def worker_name() -> str:
    return f"{os.uname().nodename[:20]}:{os.getpid()}"


def deliver_due(now: datetime | None = None, *, worker: str | None = None, limit: int = DELIVERIES_PER_RUN,
                rng: random.Random | None = None, timeout: float | None = None,
                stop: threading.Event | None = None) -> int:
    """Claim, send and acknowledge due deliveries one at a time; returns how many were tried.

    Once ``stop`` is set nothing more is claimed, and the call in flight gets
    APP_WORKER_SHUTDOWN_GRACE_SECONDS to finish; if it does not, its claim is released so that
    another worker sends it at once instead of when the lease runs out."""
    worker = worker or worker_name()
    handled = 0
    while handled < limit and not (stop is not None and stop.is_set()):
        claimed = claim(now, worker=worker)
        if not claimed:
            break
        for item in claimed:
            result = send(item, timeout=timeout) if stop is None else _send_unless_stopped(item, timeout, stop)
            if result is None:
                release(item)
                return handled
            _acknowledge_or_fail(item, result, now, worker=worker, rng=rng)
            handled += 1
    return handled


def _acknowledge_or_fail(claimed: Claimed, result: Result, now: datetime | None, *, worker: str,
                         rng: random.Random | None) -> str:
    """``acknowledge``; if the answer itself cannot be recorded, the attempt is recorded as failed
    without it (still with its backoff). Only when even that fails (the database is down) does the
    error escape, and the lease then hands the delivery to a later round."""
    try:
        return acknowledge(claimed, result, now, worker=worker, rng=rng)
    except Exception as exc:
        logger.exception("delivery %s: the attempt's outcome could not be recorded", claimed.delivery_id)
        bare = Result(None, {}, None, f"the answer could not be recorded ({type(exc).__name__})",
                      result.latency_ms, False)
        return acknowledge(claimed, bare, now, worker=worker, rng=rng)


def _send_unless_stopped(claimed: Claimed, timeout: float | None, stop: threading.Event) -> Result | None:
    """``send`` from a thread of its own, so a stop does not wait out the webhook timeout: None
    when told to stop and the call did not finish within the grace period."""
    results: list[Result] = []
    done = threading.Event()

    def call() -> None:
        try:
            results.append(send(claimed, timeout=timeout))
        finally:
            done.set()

    # A daemon: a call abandoned at shutdown must not keep the process alive.
    threading.Thread(target=call, name=f"webhook-send-{claimed.delivery_id}", daemon=True).start()
    while not done.wait(0.05):
        if stop.is_set():
            done.wait(get_settings().worker_shutdown_grace_seconds)
            break
    return results[0] if results else None


def release(claimed: Claimed) -> bool:
    """Give a claimed delivery back unsent (the worker is stopping): no attempt is recorded and
    it is due again at once. False when the lease was lost meanwhile or the delivery deleted."""
    with write_session() as session:
        delivery = session.exec(
            select(WebhookDelivery).where(WebhookDelivery.id == claimed.delivery_id).with_for_update()
        ).first()
        if delivery is None or delivery.locked_by != claimed.lease_token:
            return False
        delivery.locked_by, delivery.locked_until = None, None
        session.add(delivery)
        session.commit()
    logger.info("delivery %s released unsent: the worker is stopping", claimed.delivery_id)
    return True


def run_once(stop: threading.Event | None = None, now: datetime | None = None) -> int:
    """One round of the worker job: fan out new events, then deliver what is due (until ``stop``).
    A failing fan-out does not keep the deliveries already queued from going out."""
    try:
        fanned = fan_out(now)
    except Exception:
        logger.exception("webhook fan-out failed; delivering what is already queued")
        fanned = 0
    return fanned + deliver_due(now, stop=stop)
