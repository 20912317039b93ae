"""FastAPI dependencies that give routers the authenticated caller."""

from __future__ import annotations

from time import monotonic
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from app import ratelimit
from app.auth import service
from app.auth.roles import Action, Caller
from app.db import read_session
from app.errors import Forbidden, Unauthenticated
from app.settings import get_settings

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer pck_...`")


def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    caller = _authenticate(credentials)
    # Kept on the request for what runs later in it (the audit trail, logs), a refusal included.
    request.state.caller = caller
    ratelimit.check(caller)
    return caller


def _authenticate(credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("Send the API key as 'Authorization: Bearer <key>'")
    now = monotonic()
    caller = service.cached_caller(credentials.credentials, now)
    if caller is not None:
        return caller
    # A session of its own, closed before the endpoint runs: a request then holds at most one
    # pooled connection at a time, so a burst larger than the pool queues instead of dead-locking
    # on connections held by authentication while waiting for a write connection.
    with read_session() as session:
        caller = service.authenticate(session, credentials.credentials)
    ttl = get_settings().auth_cache_seconds
    if caller is not None and ttl > 0:
        service.remember_caller(credentials.credentials, caller, now + ttl)
    if caller is None:
        raise Unauthenticated("The API key is unknown or revoked")
    return caller


def allowed(action: Action):
    """Dependency factory: the caller, if their role may perform ``action``; 403 otherwise."""

    def dependency(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if not caller.may(action):
            raise Forbidden(f"Role '{caller.role}' may not {action.value}")
        return caller

    dependency.action = action  # the OpenAPI document declares 403 from it (app/openapi.py)
    return dependency
