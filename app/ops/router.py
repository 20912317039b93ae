from __future__ import annotations

from typing import Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from app import migrate
from app.kit.db import get_engine
from app.kit.routes import api_router

router = api_router(tags=["ops"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    revision: list[str] = Field(description="the migrations' head the database is at")


@router.get("/healthz", response_model=Health)
def get_health():
    """The process is up."""
    return {"status": "ok"}


@router.get("/bench/bare", include_in_schema=False)
async def bench_bare():
    """Benchmark baseline: a constant small JSON body, no database, no authentication.

    A coroutine like the standing check, so both run on the event loop through the same middleware
    (metrics, problem+json): bench/run.py reports every throughput as a ratio to it.
    """
    return {"status": "ok", "service": "practitioner-credit"}


@router.get("/readyz", response_model=Readiness,
            responses={503: {"description": "database unreachable or migrations behind", "content": {
                "application/json": {"schema": {"type": "object", "required": ["status"], "properties": {
                    "status": {"enum": ["unavailable", "migrations_pending"]}}}}}}})
def get_readiness():
    """Ready to serve: the database answers and its schema is at the migrations' head."""
    engine = get_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = migrate.current_revisions(engine)
    except Exception as exc:  # any failure to reach the database means not ready
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    head = migrate.head_revisions()
    if current != head:
        return JSONResponse(
            {"status": "migrations_pending", "current": sorted(current), "head": sorted(head)}, status_code=503
        )
    return {"status": "ready", "revision": sorted(current)}
