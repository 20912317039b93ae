"""Ruleset what-if simulations: submit a draft, watch its progress, read its report."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Header, Query, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.kit.db import ReadSession, WriteSession
from app.kit.openapi import problems
from app.kit.pageheaders import page_headers
from app.kit.paging import PageLimit, RowId, parse_cursor
from app.kit.responses import LOCATION_HEADER, REPLAYED, replayed
from app.kit.routes import api_router
from app.simulations import report, service
from app.simulations.schemas import SimulationIn, SimulationOut, SimulationPage, SimulationReport

router = api_router(prefix="/v1/rulesets/simulations", tags=["rulesets"])

Simulator = Annotated[Caller, Depends(allowed(Action.rulesets_simulate))]


@router.post("", status_code=202, response_model=SimulationOut,
             responses={202: {"headers": LOCATION_HEADER},
                        200: replayed(SimulationOut, "a repeat with the same Idempotency-Key", **LOCATION_HEADER)})
def create_simulation(
    body: SimulationIn, caller: Simulator, session: WriteSession, response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
):
    """Queue a draft ruleset for a what-if replay of a region's year (模拟测算). Nothing is
    written to the ledger; follow `links.self` for the state and percentage."""
    simulation, created = service.submit(session, caller, body, idempotency_key)
    response.headers["Location"] = service.links(simulation.id)["self"]
    if not created:
        response.status_code = 200
        response.headers[REPLAYED] = "true"
    return service.describe(simulation)


@router.get("", response_model=SimulationPage)
def list_simulations(
    caller: Simulator, session: ReadSession,
    limit: PageLimit = 50,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
):
    """Your simulations, oldest first (without their summaries)."""
    return service.list_mine(session, caller, limit, parse_cursor(cursor))


@router.get("/{simulation_id}", response_model=SimulationOut, responses=problems(404))
def get_simulation(simulation_id: RowId, caller: Simulator, session: ReadSession):
    """State (queued, running, done, failed), percent, and once done the summary."""
    return service.describe(service.get(session, caller, simulation_id))


@router.get("/{simulation_id}/report",
            response_model=None,
            responses={200: {"model": SimulationReport,
                             "description": "json: the report; csv: one table (UTF-8 with BOM); html: a summary page",
                             "content": {"text/csv": {"schema": {"type": "string"}},
                                         "text/html": {"schema": {"type": "string"}}}},
                       **problems(404, 409)})
def get_simulation_report(
    simulation_id: RowId, caller: Simulator, session: ReadSession,
    format: Literal["json", "csv", "html"] = "json",
    part: Annotated[Literal["practitioners", "unplaced"], Query(description="csv: which table")] = "practitioners",
):
    """`json`: summary, every practitioner (year points and standing today and under the draft)
    and the entries the draft cannot place; `csv`: one of the two tables (UTF-8 with BOM);
    `html`: a short summary page. Practitioner codes are masked for an admin."""
    simulation = service.get(session, caller, simulation_id)
    reveal = service.reveals_codes(caller)
    if format == "html":
        return HTMLResponse(service.html_page(session, simulation, reveal),
                            headers=page_headers(styles=(report.STYLE,), private=True))
    service.finished(simulation)
    name = f"simulation-{simulation.id}-{simulation.region}-{simulation.year}"
    if format == "json":
        return StreamingResponse((c.encode() for c in service.json_chunks(simulation, reveal)),
                                 media_type="application/json",
                                 headers={"Content-Disposition": f'inline; filename="{name}.json"'})
    suffix = "" if part == "practitioners" else "-unplaced"
    return StreamingResponse((c.encode() for c in service.csv_chunks(simulation, reveal, part)),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}{suffix}.csv"'})
