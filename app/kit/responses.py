"""HTTP conventions shared by the routers."""

from __future__ import annotations

from fastapi import Response

REPLAYED = "Idempotent-Replayed"


def mark_created(response: Response, created: bool) -> None:
    """201 for a new resource; 200 and ``Idempotent-Replayed: true`` when a repeat found the first."""
    response.status_code = 201 if created else 200
    if not created:
        response.headers[REPLAYED] = "true"
