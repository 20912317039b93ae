from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.practitioners.schemas import InstitutionCode, PractitionerCode
from app.scoring.rulesets import Circumstances, Tier
from app.settings import get_settings
from app.textfields import Reason
from app.timeutil import Day

_settings = get_settings()

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Basis(StrEnum):
    administrative_penalty = "administrative_penalty"  # 行政处罚
    agreement_handling = "agreement_handling"  # 协议处理


class ScoreEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    practitioner: PractitionerCode
    violation_type: Annotated[str, StringConstraints(max_length=40)]
    tier: Tier | None = Field(default=None, description="responsibility: general / important / primary")
    points: int | None = Field(default=None, ge=1, le=100, description="explicit points; must lie in the band")
    circumstances: Circumstances | None = Field(default=None, description="one band down / up where the ruleset allows")
    suspension_months: int | None = Field(
        default=None, ge=1, le=120, description="months if this entry suspends; within the ruleset's range"
    )

    @model_validator(mode="after")
    def _tier_or_points(self):
        if self.tier is None and self.points is None:
            raise ValueError("give a responsibility tier or explicit points")
        return self


class ScoreCaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    basis: Basis
    decision_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    decision_date: Day = Field(description="the score takes effect on this date")
    institution: InstitutionCode
    amount_involved: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    procedure: Literal["completed", "notify"] = Field(
        default="completed",
        description="completed: the bureau's own procedure already heard the person and the entries "
        "count at once; notify: the service notifies, takes a defence and the entries count once confirmed",
    )
    notified_on: Day | None = Field(
        default=None, description="notify only: the day the person was notified (default today); "
        "the defence window counts from it")
    entries: list[ScoreEntryIn] = Field(min_length=1, max_length=_settings.max_batch_size)

    @model_validator(mode="after")
    def _notified_only_when_notifying(self):
        if self.notified_on is not None and self.procedure != "notify":
            raise ValueError("notified_on is only for procedure 'notify'")
        return self


class StandingOut(BaseModel):
    code: str
    at: date
    status: Literal["active", "suspended", "terminated", "not_registered"]
    billing_allowed: bool
    emergency_allowed: bool
    year: int
    points: int
    focused_supervision: bool
    suspended_from: date | None
    suspended_until: date | None = Field(description="last day of the suspension, inclusive")
    terminated_on: date | None
    reregistration_barred_until: date | None = Field(description="first day a new registration is possible")
    ruleset: str | None


class SanctionOut(BaseModel):
    id: int | None = None
    kind: Literal["warning", "suspension", "termination"]
    starts_on: date
    until: date | None = Field(description="last day as imposed (none for a termination)")
    ends_on: date | None = Field(default=None, description="last day it applied, if it ended early")
    end_reason: str | None = None
    bar_until: date | None
    months: int | None
    year_total: int
    trigger_entry_id: int
    ruleset: str
    lifted: bool = False
    lift_reason: str | None = None


class EntryResult(BaseModel):
    id: int | None = Field(description="the ledger entry; none while the entry is only proposed")
    status: Literal["counted", "proposed"] = "counted"
    proposal_id: int | None = None
    defence_deadline: date | None = Field(default=None, description="proposed only: last day for a defence")
    defence_deadline_provisional: bool | None = Field(
        default=None, description="proposed only: the deadline was counted with weekends only across a year "
                                  "whose official holidays are not loaded yet (recomputed, never earlier, once they are)")
    practitioner: str
    violation_type: str
    tier: Tier | None
    circumstances: Circumstances | None
    points: int
    year: int
    year_total: int
    standing_before: StandingOut
    standing_after: StandingOut
    sanctions_created: list[SanctionOut]


class ScoreCaseOut(BaseModel):
    id: int
    case_ref: str
    basis: Basis
    decision_number: str
    decision_date: date
    institution: str
    region: str
    amount_involved: Decimal | None
    ruleset: str
    created_at: datetime
    entries: list[EntryResult]


class ReversalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class ReversalOut(BaseModel):
    id: int
    entry_id: int
    practitioner: str
    reason: str
    effective_on: date
    year_total: int
    standing: StandingOut
    sanctions_lifted: list[SanctionOut]
    sanctions_created: list[SanctionOut]


class RepairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    activity: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    occurred_on: Day
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="certificate or record number; one reference counts once"
    )


class RepairOut(BaseModel):
    id: int
    practitioner: str
    activity: str
    occurred_on: date
    reference: str
    points_removed: int
    year_total: int
    ruleset: str
    standing: StandingOut


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    registered_on: Day


class RegistrationOut(BaseModel):
    id: int
    practitioner: str
    registered_on: date
    standing: StandingOut


class StandingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    codes: list[Annotated[str, StringConstraints(max_length=20)]] = Field(min_length=1, max_length=_settings.max_batch_size)
    at: str | None = Field(default=None, description="date or ISO 8601 instant; default now")


class StandingAnswer(BaseModel):
    code: str
    found: bool
    standing: StandingOut | None = None


class StandingQueryOut(BaseModel):
    results: list[StandingAnswer]


class ViolationTypeOut(BaseModel):
    code: str
    name: str
    band: str
    band_name: str
    min_points: int
    max_points: int


class ViolationCatalogOut(BaseModel):
    ruleset: str
    region: str
    on: date
    violation_types: list[ViolationTypeOut]


class RulesetSummary(BaseModel):
    id: str
    name: str
    jurisdiction: str
    effective_from: date
    sha256: str


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
