"""What-if runs of draft rulesets and their reports. Nothing here touches the ledger."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class Simulation(SQLModel, table=True):
    """One draft replayed over one region's year. Kept for reference once done."""

    __tablename__ = "ruleset_simulations"
    __table_args__ = (
        UniqueConstraint("requested_by", "idempotency_key"),
        Index("ix_ruleset_simulations_due", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(default=QUEUED, max_length=10)
    percent: int = 0
    region: str = Field(max_length=6)
    year: int
    as_of: date  # standings are compared on this day: today, or 31 December of a past year
    draft: str  # the submitted TOML text, as received
    draft_sha256: str = Field(max_length=64)  # SHA-256 of that text (UTF-8)
    draft_ruleset_id: str = Field(max_length=60)
    draft_name: str = Field(max_length=200)
    requested_by: str = Field(max_length=40, index=True)  # principal: client:12, user:3, system:0
    requested_by_name: str = Field(max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    attempts: int = 0
    locked_by: str | None = Field(default=None, max_length=60)  # the running worker's token
    locked_until: datetime | None = None  # its lease: a worker that died leaves it to another
    error: str | None = Field(default=None, max_length=2000)
    summary: str | None = None  # JSON, once done
    people: int = 0  # report rows
    unplaced: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class SimulationRow(SQLModel, table=True):
    """One practitioner's year today and under the draft, in practitioner order."""

    __tablename__ = "ruleset_simulation_rows"
    __table_args__ = (UniqueConstraint("simulation_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    simulation_id: int = Field(foreign_key="ruleset_simulations.id")
    position: int
    change: str = Field(max_length=20)  # stricter | more_lenient | unchanged
    data: str  # JSON of replay.Result.as_dict()


class SimulationUnplaced(SQLModel, table=True):
    """A recorded entry or repair the draft cannot place as it was decided."""

    __tablename__ = "ruleset_simulation_unplaced"
    __table_args__ = (UniqueConstraint("simulation_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    simulation_id: int = Field(foreign_key="ruleset_simulations.id")
    position: int
    data: str  # JSON of replay.Unplaced.as_dict()
