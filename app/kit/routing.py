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
