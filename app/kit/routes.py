"""The route classes every router uses (``APIRouter(route_class=CheckedRoute)``).

``CheckedRoute`` refuses query parameters the operation does not take, before its endpoint runs.
``DirectRoute`` serves the claim path: its endpoint is documented from its signature like any
other, but the request is handled by a plain ``Request -> Response`` function that does its own
parsing, so FastAPI solves no dependencies for it per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute, APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.kit.openapi import operation_id, refuse_unlisted_query_parameters

Handler = Callable[[Request], Awaitable[Response]]


class CheckedRoute(APIRoute):
    """A query parameter given one value in the document may not come twice, and under /v1/ one it
    does not name may not come at all (422): FastAPI would keep the last value and ignore an
    unknown name, so a misspelt filter would quietly answer with everything.

    Checked here rather than as an app-wide dependency: a dependency, even one that returns at
    once, costs every request a round of FastAPI's dependency solving, about 80 of the 480 Python
    calls of a bare route (cProfile, bench/floor.py's route makes 307)."""

    def handler(self) -> Handler:
        return super().get_route_handler()

    def get_route_handler(self) -> Handler:
        handler = self.handler()

        async def checked(request: Request) -> Response:
            if request.scope["query_string"]:
                refuse_unlisted_query_parameters(request)
            return await handler(request)

        return checked


def api_router(**kwargs: Any) -> APIRouter:
    """A router of the service: its routes check their query parameters (``CheckedRoute``, unless
    another route class is given) and are named in the OpenAPI document as the app names them
    (operationIds from route names): app/main.py adds their routes to the app itself."""
    kwargs.setdefault("route_class", CheckedRoute)
    return APIRouter(generate_unique_id_function=operation_id, **kwargs)


def direct(handler: Handler) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for the documenting endpoint of a ``DirectRoute``: ``handler`` serves it."""

    def attach(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        endpoint.direct_handler = handler  # type: ignore[attr-defined]
        return endpoint

    return attach


class DirectRoute(CheckedRoute):
    """A route whose endpoint only documents it (parameters, security, answers), served by the
    ``Request -> Response`` function given with ``@direct``: no dependency solving, no parameter
    extraction, no response validation per request. The function authenticates and validates
    what the endpoint's signature declares itself, and answers the same problems FastAPI would.

    Only for the standing check, where FastAPI's per-request machinery was most of the time above
    the framework's floor (bench/RESULTS.md); every other route is an ordinary one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checked = self.get_route_handler()  # built once, as FastAPI builds an ordinary route's

    def handler(self) -> Handler:
        return self.endpoint.direct_handler  # type: ignore[attr-defined, no-any-return]

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the handler and send its answer, without the layers FastAPI puts around every
        endpoint (two exit stacks for dependencies with ``yield``, a per-route body limit, a
        per-route exception wrapper): this route has none of what they serve, and an exception
        reaches the app's handlers through the exception middleware all the same. A method the
        route lacks (a partial match) is answered by FastAPI as for any route."""
        if scope["method"] not in self.methods:
            return await super().handle(scope, receive, send)
        response = await self._checked(Request(scope, receive, send))
        await response(scope, receive, send)
