from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

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


# What the notice routes answer. The stored header and summary are passed through as published
# (extra fields allowed): the models document them for clients and never reformat a published value.
class _Published(BaseModel):
    model_config = ConfigDict(extra="allow")


class NoticeReference(_Published):
    id: int
    sha256: str


class LedgerCheckpointReference(_Published):
    id: int
    at: str = Field(description="ISO 8601 instant the checkpoint was signed")
    digest: str
    key_id: str


class BandCount(_Published):
    band: str
    name: str
    min: int
    max: int | None = None
    people: int


class NoticeSummary(_Published):
    people: int
    by_points: list[BandCount] = []
    warned: int = 0
    suspended: int = 0
    terminated: int = 0
    referrals: list[dict[str, Any]] = Field(default=[], description="joint-sanction referrals by department")


class NoticeLinks(BaseModel):
    json_: str = Field(alias="json", description="the canonical document (its SHA-256 is the notice's hash)")
    csv: str = Field(description="the rows for spreadsheets")
    page: str = Field(description="the public page")


class NoticeHeader(_Published):
    id: int
    title: str
    region: str
    region_name: str | None
    year: int
    revision: int
    as_of: date
    issued_by: str
    contact: str | None
    published_at: str = Field(description="ISO 8601 instant")
    previous: NoticeReference | None = Field(description="the revision this one corrects")
    ledger_checkpoint: LedgerCheckpointReference | None = Field(
        default=None, description="the latest signed ledger checkpoint when frozen (null before the first)")


class NoticeOut(NoticeHeader):
    rows: int = Field(description="people listed")
    sha256: str = Field(description="SHA-256 of the canonical JSON document (format=json)")
    summary: NoticeSummary
    next_revision_id: int | None = Field(default=None, description="the revision that corrects this one, if any")
    links: NoticeLinks


class NoticePage(BaseModel):
    items: list[NoticeOut]
    next_cursor: str | None


class NoticeRowOut(_Published):
    name: str = Field(description="masked")
    code: str = Field(description="masked national staff code")
    category: str
    region: str
    institutions: list[dict[str, str]]
    points: int
    repaired: int | None = None
    sanctions: list[dict[str, Any]]


class NoticeDocument(BaseModel):
    """format=json: the canonical document whose SHA-256 is the notice's hash."""
    notice: NoticeHeader
    rows: list[NoticeRowOut]
    summary: NoticeSummary


class NoticeRevision(BaseModel):
    id: int
    year: int
    revision: int
    sha256: str


class NoticeChange(BaseModel):
    change: Literal["added", "removed", "changed"]
    before: NoticeRowOut | None = None
    after: NoticeRowOut | None = None


class NoticeDelta(BaseModel):
    from_: NoticeRevision = Field(alias="from")
    to: NoticeRevision
    changes: list[NoticeChange]
