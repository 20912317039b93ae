"""FastAPI dependencies that give routers the authenticated caller."""

from __future__ import annotations

from time import monotonic

from fastapi import Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool

from app.auth import service
from app.auth.roles import PERMISSIONS, Action, Caller, Role
from app.kit import ratelimit
from app.kit.db import read_session
from app.kit.errors import Forbidden, Unauthenticated
from app.kit.messages import t
from app.kit.routing import dependency_calls
from app.settings import get_settings


class CallerDependency(HTTPBearer):
    """The caller, authenticated from ``Authorization: Bearer <key>`` and, with an action, allowed
    to perform it (403 otherwise).

    One dependency that is also the bearer security scheme FastAPI documents: FastAPI spends time
    on every dependency of every request, and a chain of three (scheme, caller, permission) was a
    good part of a standing check's time. A coroutine, so a remembered key costs no hop to a worker
    thread; only a lookup in the database goes to a thread.
    """

    def __init__(self, action: Action | None = None):
        super().__init__(auto_error=False, scheme_name="HTTPBearer",
                         description="API key: `Authorization: Bearer pck_...`")
        self.action = action

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        # Read as HTTPBearer reads it, without building its credentials model per request.
        scheme, key = get_authorization_scheme_param(request.headers.get("authorization"))
        caller = await _authenticate(key if scheme.lower() == "bearer" and key else None)
        # Kept on the request for what runs later in it (the audit trail, logs), a refusal included.
        request.state.caller = caller
        ratelimit.check(caller)
        if self.action is not None and not caller.may(self.action):
            raise Forbidden(t("Role '{role}' may not {action}", role=caller.role, action=self.action.value))
        return caller


# Any authenticated caller: ``caller: Annotated[Caller, Depends(get_caller)]``.
get_caller = CallerDependency()


def allowed(action: Action) -> CallerDependency:
    """Dependency: the caller, if their role may perform ``action``; 403 otherwise."""
    return CallerDependency(action)


async def _authenticate(key: str | None) -> Caller:
    if key is None:
        raise Unauthenticated(t("Send the API key as 'Authorization: Bearer <key>'"))
    now = monotonic()
    caller = service.cached_caller(key, now)
    if caller is not None:
        return caller
    caller = await run_in_threadpool(_look_up, key)
    ttl = get_settings().auth_cache_seconds
    if caller is not None and ttl > 0:
        service.remember_caller(key, caller, now + ttl)
    if caller is None:
        raise Unauthenticated(t("The API key is unknown or revoked"))
    return caller


def _look_up(key: str) -> Caller | None:
    # A session of its own, closed before the endpoint runs: a request then holds at most one
    # pooled connection at a time, so a burst larger than the pool queues instead of dead-locking
    # on connections held by authentication while waiting for a write connection.
    with read_session() as session:
        return service.authenticate(session, key)


def route_roles(route: APIRoute) -> frozenset[Role] | None:
    """The roles that may call the route (from its ``allowed(action)`` dependencies); None when
    it needs no key at all. ``app.kit.openapi.declare_common_problems`` declares 401, 403 and 429 from it."""
    calls = dependency_calls(route)
    if not any(isinstance(call, CallerDependency) for call in calls):
        return None
    roles = frozenset(Role)
    for call in calls:
        if getattr(call, "action", None) is not None:
            roles &= PERMISSIONS[call.action]
    return roles
