"""Request ids, structured logs and the metrics the service adds to the HTTP ones.

Every request gets an id: the caller's ``X-Request-ID`` when it is a sane token, a new one
otherwise. It is echoed in the response, written in every log line of the request (a context
variable, which Starlette copies into the thread that runs a sync endpoint) and in the audit trail.
Logs are JSON lines; a filter masks anything shaped like an API key or a resident ID number, so a
careless message cannot leak one.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from os import urandom
from time import perf_counter

from prometheus_client import Counter
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import event
from sqlmodel import Session

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SECRETS = (
    (re.compile(r"pck_[A-Za-z0-9_-]+"), "pck_***"),  # API keys
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), "whsec_***"),  # webhook signing secrets
    (re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}[01][0-9][0-3][0-9][0-9]{3}[0-9Xx](?![0-9])"),
     "[ID number]"),
)

request_log = logging.getLogger("app.request")

SANCTIONS_CREATED = Counter("app_sanctions_created", "Sanctions (suspensions, terminations) recorded", ["kind"])
DELIVERY_FAILURES = Counter("app_webhook_delivery_failures", "Webhook delivery attempts that failed", ["reason"])


def current_request_id() -> str | None:
    return request_id_var.get()


def accepted_request_id(header: str | None) -> str:
    """The caller's id when it is a plain token of at most 64 characters; a fresh one otherwise."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return urandom(16).hex()  # 128 random bits, as uuid4().hex without building a UUID per request


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks keys and ID numbers in the message and adds the request id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.request_id = request_id_var.get()
        record.__dict__.pop("color_message", None)  # uvicorn's terminal colours, noise in JSON
        return True


def configure_logging(level: str = "INFO", stream=None) -> None:
    """JSON lines on stderr (or ``stream``) for the service's loggers and uvicorn's (idempotent)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                                       rename_fields={"asctime": "time", "levelname": "level",
                                                      "name": "logger"}))
    handler.addFilter(RedactingFilter())
    handler.set_name("app-json")
    for name in ("app", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if h.get_name() != "app-json"] + [handler]
        logger.setLevel(level)
        logger.propagate = False
    # The request line (RequestContextMiddleware) replaces uvicorn's access line: it names the
    # route template and the principal instead of the raw path and the client's address.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


class RequestContextMiddleware:
    """Pure ASGI middleware: request id in and out, one JSON log line per request, and the
    request's route, status and duration handed to ``observe`` (the request metrics).

    The line names the route template rather than the path, the caller's principal rather than
    anything it sent, and never a header or a body.
    """

    def __init__(self, app, *, log_requests: bool = True, observe=None):
        self.app, self.log_requests, self.observe = app, log_requests, observe

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                header = value.decode("latin-1")
                break
        request_id = accepted_request_id(header)
        token = request_id_var.set(request_id)
        state = scope.setdefault("state", {})
        status = 500
        started = perf_counter()

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = perf_counter() - started
            route = getattr(scope.get("route"), "path", None)
            if self.observe is not None:
                self.observe(scope["method"], route, status, seconds)
            if self.log_requests:
                request_log.info("request", extra={
                    "method": scope["method"],
                    "route": route or "unmatched",
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "principal": getattr(state.get("caller"), "principal", None),
                })
            request_id_var.reset(token)


def count_on_commit(session: Session, counter: Counter, **labels: str) -> None:
    """Increment ``counter`` once the session's transaction commits (never for a rollback)."""
    session.info.setdefault("metrics_on_commit", []).append((counter, labels))


@event.listens_for(Session, "after_commit")
def _count_committed(session) -> None:
    for counter, labels in session.info.pop("metrics_on_commit", ()):
        counter.labels(**labels).inc()


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back(session) -> None:
    session.info.pop("metrics_on_commit", None)
