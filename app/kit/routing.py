"""The routes of an application as FastAPI keeps them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def endpoint_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route that answers requests, inside included routers too (newer FastAPI keeps an
    included router whole instead of copying its routes)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from endpoint_routes(route.original_router.routes)
        elif getattr(route, "methods", None):
            yield route


def dependency_calls(route: Any) -> list[Any]:
    """Every callable a route depends on, its sub-dependencies included (the endpoint too)."""
    found, stack = [], [route.dependant]
    while stack:
        current = stack.pop()
        if current.call is not None:
            found.append(current.call)
        stack.extend(current.dependencies)
    return found


def add_routes(app: Any, router: Any) -> None:
    """A router's routes, in their order, on the app's own list of routes: one list to match a
    request against, as ``include_router`` made before FastAPI kept an included router whole.

    Matching through included routers walked a tree per request: about 40 of the standing check's
    360 Python calls and a third of the bare route's (cProfile, in process). The routers here take
    nothing from being included (no prefix, tags, dependencies or lifespan of the include's own),
    so their routes are the same routes either way, and the OpenAPI document does not change as
    long as each router names its operations as the app would (``app.kit.routes.api_router``)."""
    app.router.routes.extend(router.routes)
