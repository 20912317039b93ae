from __future__ import annotations

from pydantic import BaseModel, Field

from app.scoring.schemas import SanctionOut, StandingOut


class DossierOut(BaseModel):
    practitioner: dict
    standing: StandingOut
    points_by_year: dict[str, dict]
    ledger: list[dict]
    sanctions: list[SanctionOut]
    proposals: list[dict] = Field(default_factory=list, description="notified entries and their defences")
    appeals: list[dict] = Field(default_factory=list)
    statements: list[dict] = Field(default_factory=list, description="the practitioner's own statements")
    referrals: list[dict] = Field(default_factory=list)
