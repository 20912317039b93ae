"""The error answers the OpenAPI document declares, so a client (and the fuzzing in CI) can rely
on them: a status a route can give is declared on it, and one it cannot give is not.

Routers declare their own domain answers with ``problems(404, 409, ...)``; the answers that come
from what a route depends on are added by ``declare_common_problems`` from its dependencies:
401 and 429 where a caller is authenticated (and rate-limited), 403 where the caller's role is
checked and some role lacks the action, 400 and 413 where there is a body, 503 where the
database is read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute

from app.kit.db import get_read_session, get_write_session
from app.kit.errors import Invalid, field_error
from app.kit.responses import REQUEST_ID_HEADER
from app.kit.routing import dependency_calls, endpoint_routes

# Every tag the routes use, described, in the order the documentation shows them.
TAGS = [
    {"name": "scoring", "description": "The standing check (may this practitioner bill the fund?), one or "
                                        "1,000 at a time; score cases (记分), reversals, repairs (记分修复), "
                                        "re-registration, the dossier (一人一档), the violation catalogue and "
                                        "the rulesets in force."},
    {"name": "practitioners", "description": "The registry: practitioners (登记备案) and the institutions "
                                             "they work at, owned by region."},
    {"name": "due process", "description": "Proposed scores awaiting a defence (申辩) and the bureau's "
                                           "confirmation or withdrawal; appeals (申诉) and statements on entries."},
    {"name": "notices", "description": "Yearly public notices (公示), frozen with their SHA-256: published by "
                                       "bureaus, read by anyone without a key, as JSON, CSV or a delta."},
    {"name": "referrals", "description": "Case referrals (移送) between a bureau and other departments, "
                                         "with their working-day deadlines and yearly figures."},
    {"name": "webhooks", "description": "Subscriptions to the events in the document's `webhooks` section, "
                                        "signed as Standard Webhooks; deliveries and redelivery."},
    {"name": "rulesets", "description": "What-if simulations (模拟测算) of a draft ruleset over a region's year; "
                                        "nothing is written to the ledger."},
    {"name": "calendar", "description": "The working-day calendar: official holidays and adjusted working days "
                                        "per year, from which deadlines are counted."},
    {"name": "audit", "description": "The audit trail of every change and every search for a person."},
    {"name": "ops", "description": "Health, readiness and Prometheus metrics, for operators; no key."},
]


def operation_id(route: APIRoute) -> str:
    """The route's name (its function's, unless it names one), e.g. ``get_standing``."""
    return route.name


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                                "schema": {"type": "integer", "minimum": 1}, "required": True}}

_DESCRIPTIONS = {
    400: "the body is not text in UTF-8",
    401: "missing or unknown API key",
    403: "the caller's role may not do this",
    404: "not found, or outside the caller's region or department",
    409: "conflicts with the current state (the problem names it)",
    413: "request body larger than APP_MAX_BODY_BYTES",
    415: "a body sent without Content-Type: application/json",
    422: "a value is not acceptable (the problem's errors name each field)",
    429: "over the client's rate limit (APP_RATE_LIMITS)",
    503: "the database is unreachable for a moment; retry",
}
_HEADERS = {429: _RETRY_AFTER, 503: _RETRY_AFTER}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that answers these problems (application/problem+json)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        schema = "HTTPValidationError" if code == 422 else "Problem"
        out[code] = {"description": _DESCRIPTIONS[code],
                     "content": {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
        if code in _HEADERS:
            out[code]["headers"] = _HEADERS[code]
    return out


def declare_common_problems(app: FastAPI, roles_of: Callable[[APIRoute], frozenset | None],
                            every_role: frozenset) -> None:
    """Add the answers that follow from each route's dependencies (call once the routers are in).

    ``roles_of(route)`` names the roles that may call a route, None when it needs no key; the
    caller (app/main.py) passes the auth package's answer, so this module knows no domain."""
    for route in endpoint_routes(app.router.routes):
        if not isinstance(route, APIRoute):
            continue
        calls = dependency_calls(route)
        codes = set()
        roles = roles_of(route)
        if roles is not None:
            codes |= {401, 429, 503}  # authentication reads the database when the key is not cached
            if roles != every_role:
                codes.add(403)
        if route.body_field is not None:
            codes |= {400, 413, 415}
        if get_read_session in calls or get_write_session in calls:
            codes.add(503)
        for code, response in problems(*sorted(codes)).items():
            route.responses.setdefault(code, response)
    generate = app.openapi
    app.openapi = lambda: request_id_headers(problem_components(generate()))  # type: ignore[method-assign]


def before_first_document(app: FastAPI, prepare: Callable[[], None]) -> None:
    """Call ``prepare`` once, before the app's OpenAPI document is first generated (FastAPI makes
    it on the first ``/openapi.json``): for what only the document needs, made then rather than at
    every start."""
    generate = app.openapi
    lock = threading.Lock()
    prepared = False

    def openapi() -> dict[str, Any]:
        nonlocal prepared
        if not prepared:
            with lock:
                if not prepared:
                    prepare()
                    prepared = True
        return generate()

    app.openapi = openapi  # type: ignore[method-assign]


def request_id_headers(schema: dict) -> dict:
    """Every answer carries ``X-Request-ID`` (app/kit/observability.py): declared on each."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                response["headers"] = {**REQUEST_ID_HEADER, **response.get("headers", {})}
    return schema


def problem_components(schema: dict) -> dict:
    """The problem shapes as the service writes them: validation errors are ``{field, message, type}``."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    # A 422 problem need not carry a field list (the schema keeps it optional for clients).
    components["HTTPValidationError"]["required"] = ["type", "title", "status"]
    components["HTTPValidationError"]["properties"]["detail"] = {"type": "string"}
    components["ValidationError"] = {
        "title": "ValidationError", "type": "object", "required": ["field", "message", "type"],
        "properties": {
            "field": {"anyOf": [{"type": "string"}, {"type": "null"}],
                      "description": "where: body.entries.0.points, path.code, query.limit"},
            "message": {"type": "string"},
            "type": {"type": "string"},
        },
    }
    return schema


_single_valued: dict[int, frozenset[str]] = {}


def _is_sequence(annotation) -> bool:
    if get_origin(annotation) in (Union, UnionType):
        return any(_is_sequence(arg) for arg in get_args(annotation))
    return get_origin(annotation) in (list, set, tuple, frozenset)


_declared: dict[int, frozenset[str]] = {}


def _query_fields(route: APIRoute) -> list:
    fields, stack = [], [route.dependant]
    while stack:
        current = stack.pop()
        fields += current.query_params
        stack.extend(current.dependencies)
    return fields


def _single_valued_query_parameters(route: APIRoute) -> frozenset[str]:
    names = _single_valued.get(id(route))
    if names is None:
        names = (frozenset(f.alias for f in _query_fields(route) if not _is_sequence(f.field_info.annotation))
                 | _documented_query_parameters(route))
        _single_valued[id(route)] = names
    return names


def _documented_query_parameters(route: APIRoute) -> frozenset[str]:
    """Query parameters a route reads itself and documents in ``openapi_extra`` (one value each)."""
    extra = (route.openapi_extra or {}).get("parameters", ())
    return frozenset(p["name"] for p in extra if p.get("in") == "query")


def _declared_query_parameters(route: APIRoute) -> frozenset[str]:
    names = _declared.get(id(route))
    if names is None:
        names = _declared[id(route)] = (frozenset(f.alias for f in _query_fields(route))
                                        | _documented_query_parameters(route))
    return names


def refuse_unlisted_query_parameters(request: Request) -> None:
    """A query parameter the document gives one value may not come twice, and under /v1/ one it does
    not name may not come at all: FastAPI would quietly keep the last value (``?cursor=5&cursor=9``)
    and ignore an unknown name; both are a 422. Called by app/kit/routes.py's ``CheckedRoute``
    for a request with a query string."""
    route = request.scope.get("route")
    keys = [key for key, _ in request.query_params.multi_items()]
    if isinstance(route, APIRoute) and route.path.startswith("/v1/"):
        # A misspelt filter (?regoin=) must not quietly answer with everything.
        unknown = set(keys) - _declared_query_parameters(route)
        if unknown:
            raise Invalid("Unknown query parameter", errors=[
                field_error(f"query.{key}", "is not a parameter of this operation") for key in sorted(unknown)])
    repeated = {key for key in keys if keys.count(key) > 1}
    if repeated and isinstance(route, APIRoute):
        repeated &= _single_valued_query_parameters(route)
        if repeated:
            raise Invalid("A query parameter was given more than once", errors=[
                field_error(f"query.{key}", "given more than once; it takes one value") for key in sorted(repeated)])
