from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.timeutil import Day
from app.practitioners.schemas import RegionCode


class NoticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=2000, le=2100)
    region: RegionCode
    as_of: Day | None = Field(default=None, description="tallies as of this day (default: today or 31 December)")
    contact: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        default=None, description="who to contact about the notice (phone, address)")
