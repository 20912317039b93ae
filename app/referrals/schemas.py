from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.paging import MAX_ID
from app.kit.textfields import LongText, Reason
from app.kit.timeutil import Day
from app.practitioners.schemas import InstitutionCode, PractitionerCode, RegionCode
from app.referrals.machine import Action, Kind, Side, State

BUREAU = "bureau"

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,39}$")]


class Direction(StrEnum):
    outbound = "outbound"  # bureau -> partner department
    inbound = "inbound"    # partner department -> bureau


class PenaltyKind(StrEnum):
    warning = "warning"                        # 警告
    fine = "fine"                              # 罚款
    confiscation = "confiscation"              # 没收违法所得
    licence_suspension = "licence_suspension"  # 暂停执业 / 吊销前的暂扣
    licence_revocation = "licence_revocation"  # 吊销执业证书 / 许可证
    order_to_rectify = "order_to_rectify"      # 责令改正 (not an administrative penalty)
    no_violation_found = "no_violation_found"  # 未发现违法
    transferred = "transferred"                # 移送其他机关


# The kinds that count as an administrative penalty (行政处罚) in the yearly figures.
PENALTIES = frozenset({PenaltyKind.warning, PenaltyKind.fine, PenaltyKind.confiscation,
                       PenaltyKind.licence_suspension, PenaltyKind.licence_revocation})


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uri: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000,
                                          pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "recipient": "health", "region": "150428", "clue_category": "licence_renting",
        "summary": "某诊所疑似医师挂证", "institutions": ["H15042800001"], "practitioners": ["D150428000123"],
        "evidence": [{"uri": "https://files.example.cn/evidence/1.pdf", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]}]})
    kind: Kind = Kind.case
    recipient: Code = Field(description="a partner department code (a bureau sends) or 'bureau' (a partner sends)")
    region: RegionCode
    clue_category: Code = Field(description="one the department takes, e.g. licence_renting, pricing")
    summary: LongText
    institutions: list[InstitutionCode] = Field(default_factory=list, max_length=100)
    practitioners: list[PractitionerCode] = Field(default_factory=list, max_length=100)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)
    score_case_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    on: Day | None = Field(default=None, description="the day it was drawn up; default today, never in the future")


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    penalty_kinds: list[PenaltyKind] = Field(min_length=1, max_length=8)
    fine_amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    confiscated_amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    decision_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    decision_date: Day
    practitioners: list[PractitionerCode] = Field(default_factory=list, max_length=100,
                                                  description="people the decision names (e.g. a licence revoked)")
    institutions: list[InstitutionCode] = Field(default_factory=list, max_length=100)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"type": "send"}, {"type": "return", "reason": "材料不全，请补充证据。"}]})
    type: Action
    reason: Reason | None = None
    outcome: OutcomeIn | None = None
    on: Day | None = Field(default=None, description="the day it happened; default today, never in the future")


class OutcomeOut(BaseModel):
    penalty_kinds: list[PenaltyKind]
    with_penalty: bool
    fine_amount: Decimal | None
    confiscated_amount: Decimal | None
    decision_number: str | None
    decision_date: date
    practitioners: list[str]
    institutions: list[str]


class EvidenceOut(BaseModel):
    uri: str
    sha256: str


class EventOut(BaseModel):
    seq: int
    action: str = Field(description="'create' or a lifecycle action")
    from_state: State | None
    to_state: State
    side: Side
    client_id: int | None
    user_id: int | None = Field(default=None, description="the workbench user who took the step, if a person did")
    occurred_on: date
    reason: str | None
    outcome: OutcomeOut | None
    recorded_at: datetime


class DeadlineOut(BaseModel):
    kind: str
    due_on: date
    provisional: bool = Field(description="counted with weekends only across a year whose official holidays are "
                                          "not loaded yet; follows them once they are")
    problem: str | None = Field(default=None, description="when provisional: which year's holidays are missing")


class ReferralOut(BaseModel):
    id: int
    kind: Kind
    direction: Direction
    sender: str
    recipient: str
    department: str
    department_name: str | None
    region: str
    region_name: str | None
    status: State
    clue_category: str
    summary: str
    institutions: list[str]
    practitioners: list[str]
    evidence: list[EvidenceOut]
    score_case_id: int | None
    sanction_id: int | None
    year: int | None
    sent_on: date | None
    received_on: date | None
    extended_on: date | None
    filed_on: date | None
    declined_on: date | None
    concluded_on: date | None
    outcome: OutcomeOut | None
    deadline: DeadlineOut | None
    overdue: bool = Field(description="the running deadline has passed")
    your_side: Side
    allowed_actions: list[str] = Field(description="what you may post now")
    created_at: datetime
    updated_at: datetime
    history: list[EventOut] | None = Field(default=None, description="only on GET /v1/referrals/{id}")


class ReferralPage(BaseModel):
    items: list[ReferralOut]
    next_cursor: int | None


class StatsRow(BaseModel):
    department: str
    department_name: str
    direction: Direction
    sent: int
    received: int
    filed: int
    not_filed: int
    concluded_with_penalty: int
    concluded_without_penalty: int
    pending: int
    overdue: int
    returned: int
    withdrawn: int
    fine_amount: Decimal
    confiscated_amount: Decimal
    notifications: int = Field(description="joint-sanction notices, not counted in the figures above")


class StatsOut(BaseModel):
    year: int
    region: str
    region_name: str | None
    as_of: date
    rows: list[StatsRow]
