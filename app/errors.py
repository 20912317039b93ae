"""Typed domain errors and their problem+json (RFC 9457) rendering.

Services raise these; ``install(app)`` makes every error leave the API as
``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and, for validation
errors, ``errors``: a list of ``{field, message, type}``. Input values are never echoed back:
they may be ID numbers. Unhandled errors become a bare 500 problem; the trace goes to the log.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_problem.error import Problem, StatusProblem
from fastapi_problem.handler import add_exception_handler, new_exception_handler

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
        detail = f"{what} is {state}: '{action}' is not allowed; allowed: {', '.join(allowed) or 'none'}"
        super().__init__(detail, state=state, action=action, allowed=allowed, **kw)


class CalendarNotCovered(StatusProblem):
    """A deadline needs a year the working-day calendar has no official data for yet."""

    status = 422
    title = "Date outside the working-day calendar"
    type_ = "calendar-not-covered"


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
    """Business-rule validation (the body parsed, but a value is not acceptable)."""

    status = 422
    title = "Invalid request"
    type_ = "invalid-request"

    def __init__(self, detail: str, *, field: str | None = None, errors: list[dict] | None = None, **kw):
        errs = errors if errors is not None else [{"field": field, "message": detail, "type": "value_error"}]
        super().__init__(detail, errors=errs, **kw)


class InternalError(StatusProblem):
    """An unhandled error: the client learns nothing of it; the log has the trace."""

    status = 500
    title = "Internal server error"
    type_ = "internal-error"

    def __init__(self, _detail: str | None = None, **_kw):
        super().__init__("The error has been logged.")


def field_error(field: str, message: str, type_: str = "value_error") -> dict:
    return {"field": field, "message": message, "type": type_}


def _validation_handler(_eh, _request: Request, exc: RequestValidationError) -> Problem:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        message = err.get("msg", "invalid").removeprefix("Value error, ")
        errors.append(field_error(".".join(loc), message, err.get("type", "value_error")))
    fields = ", ".join(e["field"] for e in errors)
    return Problem(
        title="Request validation failed",
        type_="validation-error",
        status=422,
        detail=f"Invalid fields: {fields}",
        errors=errors,
    )


def install(app: FastAPI) -> None:
    eh = new_exception_handler(
        logger=logger,
        request_validation_handler=_validation_handler,
        unhandled_wrappers={"default": InternalError},
    )
    add_exception_handler(app, eh)
