from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, StringConstraints

from app.kit.textfields import LongText, Reason
from app.scoring.schemas import SanctionsMoved, StandingOut

Channel = Literal["practitioner", "institution"]


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uri: AnyUrl
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    description: Annotated[str, StringConstraints(max_length=200)] | None = None


class DefenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "channel": "practitioner", "text": "处方系按诊疗规范开具，附病历说明。",
        "evidence": [{"uri": "https://files.example.cn/defence/17.pdf", "description": "病历"}]}]})
    channel: Channel = Field(description="who speaks: the practitioner, or their institution for them")
    text: LongText
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)


class DefenceOut(BaseModel):
    id: int
    channel: Channel
    text: str
    evidence: list[Evidence]
    submitted_on: date


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "申辩理由不成立，维持记分。"}]})
    reason: Reason


class ProposalOut(BaseModel):
    id: int
    case_id: int
    case_ref: str
    decision_number: str
    decision_date: date
    practitioner: str
    violation_type: str
    tier: str | None
    circumstances: str | None
    act: str | None = None
    points: int
    ruleset: str
    status: Literal["proposed", "defended", "confirmed", "withdrawn"]
    allowed_actions: list[str]
    notified_on: date
    defence_deadline: date = Field(description="last day a statement of defence is accepted")
    defence_deadline_provisional: bool = Field(
        description="counted with weekends only across a year whose official holidays are not loaded yet; "
                    "recomputed when they are, never to an earlier day")
    defence: DefenceOut | None
    decided_on: date | None
    decision_reason: str | None
    confirmed_automatically: bool
    entry_id: int | None = Field(description="the ledger entry, once confirmed")


class ConfirmationOut(SanctionsMoved):
    proposal: ProposalOut
    effective_on: date
    year: int = Field(description="the year the entry counts in")
    year_total: int = Field(description="that year's total after the confirmation")
    year_totals: dict[str, int] = {}
    standing_before: StandingOut = Field(description="on the effective date")
    standing_after: StandingOut = Field(description="on the effective date")


class ProposalPage(BaseModel):
    items: list[ProposalOut]
    next_cursor: str | None


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"channel": "institution", "grounds": "违规行为系他人冒用工号所致。"}]})
    channel: Channel
    grounds: LongText
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)


class AppealOut(BaseModel):
    id: int
    entry_id: int
    practitioner: str
    status: Literal["open", "upheld", "rejected"]
    allowed_actions: list[str]
    channel: Channel
    grounds: str
    evidence: list[Evidence]
    filed_on: date
    deadline: date = Field(description="the last day the appeal could be filed")
    deadline_provisional: bool = Field(
        description="counted with weekends only across a year whose official holidays are not loaded yet; "
                    "recomputed when they are, never to an earlier day")
    decided_on: date | None
    decision_reason: str | None
    reversal_id: int | None


class AppealDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"outcome": "upheld", "reason": "经复核，工号被冒用属实。"}]})
    outcome: Literal["upheld", "rejected"]
    reason: Reason


class AppealDecisionOut(SanctionsMoved):
    appeal: AppealOut
    standing: StandingOut | None = None


class AppealPage(BaseModel):
    items: list[AppealOut]
    next_cursor: str | None


class StatementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    text: LongText


class StatementOut(BaseModel):
    id: int
    entry_id: int
    practitioner: str
    channel: Channel
    text: str
    created_at: str
