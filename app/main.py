"""The FastAPI application."""

from __future__ import annotations

import gc

# No garbage collection while the modules are imported and the app is built: some 225,000 objects
# made to last as long as the process, for which the collector's passes (two of them full) cost
# ~0.2 s of CPU at every start and found ~1,000 unreachable objects. Frozen, and the collector on
# again, at the end of this module.
gc.disable()

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.audit.router import router as audit_router
from app.auth.deps import route_roles
from app.auth.roles import Role
from app.calendar.router import router as calendar_router
from app.dossier.router import router as dossier_router
from app.dueprocess.router import router as dueprocess_router
from app.kit import apidocs, errors, hotread, observability, openapi
from app.kit.bodysize import BodySizeLimitMiddleware
from app.kit.nulchars import NulCharacterMiddleware
from app.kit.routes import CheckedRoute
from app.kit.routing import add_routes
from app.notices.router import router as notices_router
from app.ops import metrics
from app.ops.router import router as ops_router
from app.practitioners.router import institutions_router
from app.practitioners.router import router as practitioners_router
from app.referrals.router import router as referrals_router
from app.scoring.bulk import PATH as BULK_CASES_PATH
from app.scoring.checks_router import router as checks_router
from app.scoring.router import router as scoring_router
from app.scoring.rulesets import load_rulesets
from app.settings import get_settings
from app.simulations.router import router as simulations_router
from app.webhooks.router import router as webhooks_router
from app.workbench import web as workbench_web
from app.workbench.router import router as workbench_router


@asynccontextmanager
async def lifespan(_app: FastAPI):
    """On SQLite (``make run``) there is no separate worker: run its jobs (callbacks, closing
    defence windows) from a thread here.
    Several API processes may each run one; claiming keeps them from sending anything twice."""
    from app import worker
    from app.kit.db import get_engine, is_sqlite

    # What start-up built (routes, schemas, rulesets: some 150,000 objects) lives as long as the
    # process; frozen, the garbage collector's full passes skip it. A full pass over it took ~50 ms,
    # stalling every request in flight: the tail of the standing check's latency. Most of it was
    # frozen at the end of this module; this takes what the server made since, and an app made by
    # create_app later (the tests).
    gc.freeze()
    settings = get_settings()
    stop = threading.Event()
    thread = None
    if settings.webhook_embedded_worker and is_sqlite(get_engine()):
        thread = threading.Thread(target=worker.run_forever, args=(worker.registered_jobs(), stop),
                                  name="embedded-worker", daemon=True)
        thread.start()
    yield
    await hotread.close()
    stop.set()
    if thread is not None:
        # A call in flight gets the grace period, then its claim is released (app/webhooks/delivery.py).
        thread.join(timeout=settings.worker_shutdown_grace_seconds + 5)


def _declare_webhooks(app: FastAPI) -> None:
    from app.webhooks import payloads

    payloads.declare(app)


def create_app() -> FastAPI:
    settings = get_settings()  # refuse to start on bad settings (e.g. a development secret in production)
    observability.configure_logging(settings.log_level)
    load_rulesets()  # and on a bad bundled ruleset file, naming the field
    app = FastAPI(
        title="Practitioner payment-qualification service (医保支付资格记分)",
        version="1",
        description="Point ledger, standing checks, referrals and public notices. Errors are application/problem+json.",
        lifespan=lifespan,
        # /docs from the service's own files (app/kit/apidocs.py): no CDN, so no blank page offline.
        docs_url=None,
        redoc_url=None,
        # operationIds are the route names (get_standing, create_score_case): what a generated
        # client calls its methods, so stable and readable rather than FastAPI's path-derived ids.
        generate_unique_id_function=openapi.operation_id,
        openapi_tags=openapi.TAGS,
    )
    app.router.route_class = CheckedRoute  # for the routes added to the app itself (/metrics)
    errors.install(app)
    # First: the claim path (standing checks, the batch query, the feed), tried before any other route.
    add_routes(app, checks_router)
    add_routes(app, ops_router)
    # Before scoring's GET /v1/rulesets/{ruleset_id}, which would otherwise take "simulations" for an id.
    add_routes(app, simulations_router)
    add_routes(app, scoring_router)
    add_routes(app, dossier_router)
    add_routes(app, practitioners_router)
    add_routes(app, institutions_router)
    add_routes(app, dueprocess_router)
    add_routes(app, notices_router)
    add_routes(app, webhooks_router)
    add_routes(app, referrals_router)
    add_routes(app, audit_router)
    add_routes(app, calendar_router)
    add_routes(app, workbench_router)
    app.mount(f"{workbench_web.PREFIX}/static", StaticFiles(directory=workbench_web.HERE / "static"),
              name="workbench-static")
    apidocs.install(app)  # late: routes are tried in order, and the standing check comes first
    app.add_api_route("/metrics", metrics.metrics, methods=["GET"], tags=["ops"], name="get_metrics",
                      response_class=PlainTextResponse,
                      responses={200: {"description": "Prometheus text exposition format"}})
    openapi.declare_common_problems(app, roles_of=route_roles, every_role=frozenset(Role))
    # The document's webhooks (what an endpoint receives) are documentation only: their models and
    # receiving routes (~50 ms of CPU) are made with the document, not at every start.
    openapi.before_first_document(app, lambda: _declare_webhooks(app))
    metrics.register()
    # NUL characters are refused alike on both databases, within the size limit.
    app.add_middleware(NulCharacterMiddleware, streams=frozenset({BULK_CASES_PATH}))
    # Before any body is parsed; inside the request context so a refusal is logged with its id.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       larger={BULK_CASES_PATH: settings.max_bulk_body_bytes})
    # Outermost: the request id exists before anything else runs, and the log line and the request
    # metrics see the status.
    app.add_middleware(observability.RequestContextMiddleware, log_requests=settings.request_log,
                       observe=metrics.RequestMetrics().observe)
    if settings.trusted_proxies:
        # The client's address and scheme from the forwarding headers, only from these peers.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app


try:
    app = create_app()
finally:
    # Frozen before the collector runs again: what start-up built is never traversed, and the
    # first collection does not walk all of it (every object made while it was off is young).
    gc.freeze()
    gc.enable()
