from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.calendar.files import Notice, OfficialDay

MAX_TOML_CHARS = 100_000


class YearIn(BaseModel):
    """A year's official days: either as fields (``days``, optional ``notice``) or as the text of
    a year file (``toml``, the format of app/calendar/years/)."""

    model_config = ConfigDict(extra="forbid")
    notice: Notice | None = Field(default=None, description="the State Council notice the days follow")
    days: list[OfficialDay] | None = Field(default=None, min_length=1, max_length=366,
                                           description="every holiday and adjusted working day of the year")
    toml: str | None = Field(default=None, min_length=1, max_length=MAX_TOML_CHARS,
                             description="instead of notice and days: the year's file as TOML text")


class RecomputedOut(BaseModel):
    proposals: int = Field(description="open proposals whose stored defence deadline was extended or settled")
    appeals: int = Field(description="appeals whose stored deadline was extended or settled")
    confirmed_before_deadline: list[int] = Field(
        description="proposals confirmed by themselves on or before the deadline this version gives them: "
                    "not undone, for the bureau to review")


class YearOut(BaseModel):
    year: int
    notice: str | None
    source: Literal["bundled", "api", "cli"] = Field(
        description="bundled: shipped with the service; api, cli: loaded by an administrator")
    revision: int = Field(description="1 for the first version loaded, one more for each correction")
    sha256: str = Field(description="of the content: which version is in force")
    loaded_at: datetime
    loaded_by: str
    holidays: int
    workdays: int
    days: list[OfficialDay] | None = Field(default=None, description="only on GET and PUT of one year")


class LoadOut(YearOut):
    changed: bool = Field(description="false when the same days were already in force: nothing was done")
    recomputed: RecomputedOut


class YearsOut(BaseModel):
    items: list[YearOut]
    today: date
    covered_through: int | None = Field(
        description="the last year of the unbroken run of covered years from this one; null when this year "
                    "is not covered. Deadlines beyond it are provisional (weekends only)")
