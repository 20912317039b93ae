"""HTTP conventions shared by the routers, and the response headers the OpenAPI document declares
for them (tests/test_contract.py checks what the live app sends is declared)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

REPLAYED = "Idempotent-Replayed"
REQUEST_ID = "X-Request-ID"

REQUEST_ID_HEADER = {REQUEST_ID: {
    "description": "the request's id: the caller's X-Request-ID when it is a sane token, else a new one; "
                   "it is in the service's log lines and audit records",
    "schema": {"type": "string"}, "required": True}}
REPLAYED_HEADER = {REPLAYED: {
    "description": "`true`: a repeat of an earlier request; its first answer, nothing changed",
    "schema": {"type": "string", "enum": ["true"]}, "required": True}}
LOCATION_HEADER = {"Location": {"description": "where the resource is read", "schema": {"type": "string"},
                                "required": True}}


def replayed(model: type, description: str, **headers: Any) -> dict[str, Any]:
    """``responses={200: replayed(Model, "...")}`` for the 200 a repeated create answers."""
    return {"model": model, "description": description, "headers": {**REPLAYED_HEADER, **headers}}


def mark_created(response: Response, created: bool) -> None:
    """201 for a new resource; 200 and ``Idempotent-Replayed: true`` when a repeat found the first."""
    response.status_code = 201 if created else 200
    if not created:
        response.headers[REPLAYED] = "true"
