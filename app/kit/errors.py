"""Typed domain errors and their problem+json (RFC 9457) rendering.

Services raise these; ``install(app)`` makes every error leave the API as
``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and, for validation
errors, ``errors``: a list of ``{field, message, type}``. Input values are never echoed back:
they may be ID numbers. Unhandled errors become a bare 500 problem; the trace goes to the log.

Every 422 has the one type ``validation-error``, whether the body did not parse or a value broke a
business rule. Titles, details and field messages come from the catalogue (app/kit/messages.py)
and are rendered in the language of ``Accept-Language`` (Chinese for zh, English otherwise), said
in ``Content-Language``; the ``type`` never changes with the language (docs/api/errors.md).
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_problem.error import Problem, StatusProblem
from fastapi_problem.handler import add_exception_handler, http_exception_handler_, new_exception_handler
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from app.kit.messages import Message, from_text, negotiate, pydantic_message, t
from app.kit.messages import title as localised_title
from app.kit.routing import endpoint_routes

logger = logging.getLogger("app")


class NotFound(StatusProblem):
    status = 404
    title = "Not found"
    type_ = "not-found"


class Conflict(StatusProblem):
    status = 409
    title = "Conflict"
    type_ = "conflict"


class IllegalTransition(StatusProblem):
    """A state-machine step that is not allowed from the current state: 409 naming the allowed ones."""

    status = 409
    title = "Not allowed in this state"
    type_ = "illegal-transition"

    def __init__(self, what: str, state: str, action: str, allowed: list[str], **kw):
        allowed = sorted(allowed)
        detail = t("{what} is {state}: '{action}' is not allowed; allowed: {allowed}",
                   what=what, state=state, action=action, allowed=allowed or t("none"))
        super().__init__(detail, state=state, action=action, allowed=allowed, **kw)


class Unauthenticated(StatusProblem):
    status = 401
    title = "Missing or invalid API key"
    type_ = "unauthenticated"
    headers_ = {"WWW-Authenticate": "Bearer"}


class Forbidden(StatusProblem):
    status = 403
    title = "Your role may not do this"
    type_ = "forbidden"


class TooManyRequests(StatusProblem):
    """A client over its rate limit; ``Retry-After`` says when it may send again."""

    status = 429
    title = "Too many requests"
    type_ = "rate-limited"


class PayloadTooLarge(StatusProblem):
    status = 413
    title = "Request body too large"
    type_ = "payload-too-large"


class Invalid(StatusProblem):
    """Business-rule validation (the body parsed, but a value is not acceptable): the same type
    and title as a request that failed its schema, so that a client handles every 422 alike."""

    status = 422
    title = "Request validation failed"
    type_ = "validation-error"

    def __init__(self, detail: str, *, field: str | None = None, errors: list[dict] | None = None, **kw):
        errs = errors if errors is not None else [{"field": field, "message": detail, "type": "value_error"}]
        super().__init__(detail, errors=errs, **kw)


class InternalError(StatusProblem):
    """An unhandled error: the client learns nothing of it; the log has the trace."""

    status = 500
    title = "Internal server error"
    type_ = "internal-error"

    def __init__(self, _detail: str | None = None, **_kw):
        super().__init__(t("The error has been logged."))


class UnsupportedMediaType(StatusProblem):
    """A body sent to a JSON route without ``Content-Type: application/json``."""

    status = 415
    title = "Unsupported Media Type"
    type_ = "unsupported-media-type"
    headers_ = {"Accept-Post": "application/json"}


def field_error(field: str, message: str, type_: str = "value_error") -> dict:
    return {"field": field, "message": message, "type": type_}


def _validation_handler(_eh, request: Request, exc: RequestValidationError) -> Problem:
    concrete = _methods_of_concrete_path(request)
    if concrete:
        # PUT /v1/practitioners/search reached PUT /v1/practitioners/{code} and failed there; but a
        # concrete path comes before a templated one (as in OpenAPI's path matching), and this one
        # has no PUT: a 405 naming its methods, not a 422 for a malformed code.
        return Problem(title="Method Not Allowed", type_="http-method-not-allowed", status=405,
                       detail="Method Not Allowed", headers={"Allow": ", ".join(sorted(concrete))})
    if _body_not_json(exc):
        sent = request.headers.get("content-type") or "none"
        return UnsupportedMediaType(t(
            "The request body must be sent as JSON: set the header Content-Type: application/json (it was {content_type})",
            content_type=sent[:80]))
    return validation_problem(field_errors(exc.errors(), exc.body if isinstance(exc.body, str) else None))


def field_errors(errors: list[dict], document: str | None = None) -> list[dict]:
    """Pydantic's errors as ``{field, message, type}``, located from the request (``body.entries.0.points``);
    a body that is not JSON at all is located by line and column in ``document``."""
    out = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid" and document is not None and len(loc) == 2:
            out.append(field_error("body", _json_message(document, err), "json_invalid"))
            continue
        out.append(field_error(".".join(str(p) for p in loc), pydantic_message(err), err.get("type", "value_error")))
    return out


def validation_problem(errors: list[dict]) -> Invalid:
    """The 422 for field errors: ``detail`` names the fields."""
    return Invalid(t("Invalid fields: {fields}", fields=[e["field"] for e in errors]), errors=errors)


def _body_not_json(exc: RequestValidationError) -> bool:
    """FastAPI hands a JSON route's body over unparsed (bytes) when its Content-Type is not JSON,
    and the model then fails with "Input should be a valid dictionary": that is a 415."""
    return isinstance(exc.body, bytes) and bool(exc.body) and any(
        tuple(err.get("loc", ()))[:1] == ("body",) for err in exc.errors())


def _json_message(document: str, err: dict) -> Message:
    """``invalid JSON at line 1, column 14: Expecting ',' delimiter``, from the parser's position."""
    position = err["loc"][1] if isinstance(err["loc"][1], int) else 0
    reason = str((err.get("ctx") or {}).get("error") or "invalid JSON")
    parsed = json.JSONDecodeError(reason, document, position)
    return t("invalid JSON at line {line}, column {column}: {error}",
             line=parsed.lineno, column=parsed.colno, error=from_text(reason))


class DatabaseUnavailable(StatusProblem):
    """The database could not be reached or dropped the connection (a restart, a failover, a full
    pool). The client sends the request again: a write cut off at its commit may have landed, and
    its repeat is then answered with the first result (Idempotency-Key, case reference)."""

    status = 503
    title = "Database unavailable"
    type_ = "database-unavailable"
    headers_ = {"Retry-After": "1"}


def _database_unavailable(_eh, _request: Request, _exc: Exception) -> Problem:
    return DatabaseUnavailable(t("The database is unavailable for a moment; send the request again"))


def _methods_of_concrete_path(request: Request) -> set[str]:
    """The methods of the routes whose path is exactly the request's, without parameters, when
    they do not include the request's method; empty otherwise."""
    methods: set[str] = set()
    for route in endpoint_routes(request.app.router.routes):
        if "{" not in route.path and route.path == request.scope["path"]:
            methods |= route.methods
    return set() if request.method in methods else methods


def _http_exception_handler(eh, request: Request, exc: HTTPException) -> Problem:
    if exc.status_code == 405:
        # Starlette names the methods of the first route on the path only; a path has one route per
        # method. Of the templates the path fits, the most literal one names the resource
        # (/v1/practitioners/search rather than /v1/practitioners/{code}).
        by_template: dict[str, set[str]] = {}
        for route in endpoint_routes(request.app.router.routes):
            if route.matches(request.scope)[0] == Match.PARTIAL:
                by_template.setdefault(route.path, set()).update(route.methods)
        if by_template:
            methods = by_template[min(by_template, key=lambda template: template.count("{"))]
            exc = HTTPException(405, exc.detail, headers={"Allow": ", ".join(sorted(methods))})
    return http_exception_handler_(eh, request, exc)


# OperationalError: connection refused or lost, deadlock, serialisation failure, lock or statement
# timeout; InterfaceError: a closed connection; TimeoutError: no pooled connection came free in time.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, SQLAlchemyTimeoutError)


class _OutageAtWarning(logging.Filter):
    """The problem handler logs every 5xx with its traceback. A 503 for a database restart or
    failover is expected operation, not a fault in the service: one WARNING line naming the
    error, so a restart does not bury real errors under tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (*DATABASE_UNAVAILABLE, DatabaseUnavailable)):
            cause = getattr(exc, "orig", None) or exc
            record.msg, record.args = f"{record.getMessage()}: {type(cause).__name__}", ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


logger.addFilter(_OutageAtWarning())


# ---------------------------------------------------------------- languages


def _localised_text(value, language: str):
    message = from_text(value) if isinstance(value, str) else value
    return message.render(language) if isinstance(message, Message) else value


def localise(content: dict, language: str) -> dict:
    """A marshalled problem with its title, detail and field messages in ``language``."""
    out = dict(content)
    out["title"] = localised_title(str(content.get("type", "")), int(content.get("status", 500)),
                                   str(content.get("title", "")), language)
    if "detail" in out:
        out["detail"] = _localised_text(out["detail"], language)
    if isinstance(out.get("errors"), list):
        out["errors"] = [{**e, "message": _localised_text(e.get("message"), language)} if isinstance(e, dict) else e
                         for e in out["errors"]]
    return out


def _in_language(content: dict, request: Request, response):
    language = negotiate(request.headers.get("accept-language"))
    content = localise(content, language)
    response.body = response.render(content)
    response.headers["content-language"] = language
    response.headers.add_vary_header("Accept-Language")
    return content, response


def raw_problem(problem: Problem, scope) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of a problem answered by ASGI middleware, outside the handler: in the
    language the request asked for, like every other problem."""
    header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept-language"), None)
    language = negotiate(header)
    body = json.dumps(localise(problem.marshal(), language), ensure_ascii=False, separators=(",", ":")).encode()
    return [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
            (b"content-language", language.encode()), (b"vary", b"Accept-Language")], body


def install(app: FastAPI) -> None:
    eh = new_exception_handler(
        logger=logger,
        request_validation_handler=_validation_handler,
        http_exception_handler=_http_exception_handler,
        unhandled_wrappers={"default": InternalError},
        handlers={exc_type: _database_unavailable for exc_type in DATABASE_UNAVAILABLE},
        post_hooks=[_in_language],
    )
    # The OpenAPI document declares each route's real answers (app/kit/openapi.py), not a blanket 4XX/5XX.
    add_exception_handler(app, eh, generic_swagger_defaults=False)
    for exc_type in DATABASE_UNAVAILABLE:  # answered where raised, not re-raised as a server error
        app.add_exception_handler(exc_type, eh)
