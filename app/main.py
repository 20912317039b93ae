"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator

from app import errors
from app.ops.router import router as ops_router
from app.scoring.rulesets import load_rulesets
from app.settings import get_settings
from app.practitioners.router import router as practitioners_router
from app.referrals.router import router as referrals_router
from app.scoring.router import router as scoring_router


def create_app() -> FastAPI:
    get_settings()  # refuse to start on bad settings (e.g. a development secret in production)
    load_rulesets()  # and on a bad bundled ruleset file, naming the field
    app = FastAPI(
        title="Practitioner payment-qualification service (医保支付资格记分)",
        version="1",
        description="Point ledger, standing checks, referrals and public notices. Errors are application/problem+json.",
    )
    errors.install(app)
    app.include_router(ops_router)
    app.include_router(practitioners_router)
    app.include_router(scoring_router)
    app.include_router(referrals_router)
    Instrumentator(excluded_handlers=["/metrics"]).instrument(app).expose(app, endpoint="/metrics", tags=["ops"])
    return app


app = create_app()
