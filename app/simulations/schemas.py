from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.practitioners.schemas import RegionCode

MAX_DRAFT_CHARS = 1_000_000


class SimulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "draft": "id = \"inner-mongolia-2026-draft\"\nname = \"内蒙古 2026 草案\"\n# the rest of the ruleset file\n",
        "region": "150400", "year": 2025}]})
    draft: str = Field(min_length=1, max_length=MAX_DRAFT_CHARS,
                       description="the draft ruleset: the text of a TOML file in the format of app/scoring/rulesets/")
    region: RegionCode = Field(description="replay the practitioners of this region and the regions below it")
    year: int = Field(ge=2000, le=2100, description="the calendar year to replay")


class DraftOut(BaseModel):
    id: str = Field(description="the id the draft file gives itself")
    name: str
    sha256: str = Field(description="SHA-256 of the submitted text (UTF-8)")


class SimulationOut(BaseModel):
    id: int
    state: Literal["queued", "running", "done", "failed"]
    percent: int = Field(description="progress of the replay, 0-100")
    region: str
    year: int
    as_of: date = Field(description="standings today and under the draft are compared on this day")
    draft: DraftOut
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    people: int = Field(description="practitioners in the report (those with a standing entry in the year)")
    unplaced: int = Field(description="recorded entries and repairs the draft cannot place")
    summary: dict | None = Field(description="once done: people by band, sanctions and changes, today and under the draft")
    links: dict[str, str]


class SimulationPage(BaseModel):
    items: list[SimulationOut]
    next_cursor: str | None


class SimulationReport(BaseModel):
    """format=json: the whole report (documentation of what is streamed)."""
    simulation: SimulationOut = Field(description="as GET /v1/rulesets/simulations/{id}, without the summary")
    summary: dict[str, Any] = Field(description="people by band, sanctions and changes, today and under the draft")
    practitioners: list[dict[str, Any]] = Field(description="every practitioner: year points and standing today "
                                                            "and under the draft")
    unplaced: list[dict[str, Any]] = Field(description="entries the draft cannot place")
