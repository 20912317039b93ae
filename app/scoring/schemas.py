from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.kit.messages import t
from app.kit.textfields import Reason
from app.kit.timeutil import Day, Instant
from app.practitioners.schemas import InstitutionCode, PractitionerCode
from app.scoring.rulesets import Circumstances, Ruleset, Tier
from app.settings import get_settings

_settings = get_settings()

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Basis(StrEnum):
    administrative_penalty = "administrative_penalty"  # 行政处罚
    agreement_handling = "agreement_handling"  # 协议处理


class ScoreEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    practitioner: PractitionerCode
    act: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = Field(
        default=None,
        description="the act this entry scores, named within the case (e.g. A1). One act is scored once, at "
        "its highest rule: entries of one practitioner that share an act count as one. Required when a "
        "practitioner has more than one entry in the case",
        examples=["A1"])
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
            raise ValueError(t("give a responsibility tier or explicit points"))
        return self


class ScoreCaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "case_ref": "KLQ-2025-017", "basis": "agreement_handling", "decision_number": "喀医保〔2025〕17号",
        "decision_date": "2025-06-02", "institution": "H15042800001", "amount_involved": "12800.00",
        "entries": [{"practitioner": "D150428000123", "act": "A1", "violation_type": "SPLIT-CHARGING",
                     "tier": "primary"}]}, {
        "case_ref": "KLQ-2025-018", "basis": "administrative_penalty", "decision_number": "喀医保罚〔2025〕3号",
        "decision_date": "2025-07-01", "institution": "H15042800001", "procedure": "notify",
        "entries": [{"practitioner": "D150428000123", "violation_type": "SPLIT-CHARGING", "points": 3}]}]})
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
            raise ValueError(t("notified_on is only for procedure 'notify'"))
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
    # Only in an answer to a check with known_at: left out, not null, everywhere else (case answers, events).
    known_at: datetime | None = Field(
        default=None, exclude_if=lambda v: v is None,
        description="the check's known_at, in UTC: answered as the ledger stood at this instant")


class PreviousTerms(BaseModel):
    """A changed sanction's terms as last announced."""
    starts_on: date
    until: date | None
    ends_on: date | None
    bar_until: date | None


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
    previous: PreviousTerms | None = Field(default=None, description="changed only: the terms it replaces")


class SanctionsMoved(BaseModel):
    """Every sanction a write created, changed or lifted for a practitioner, whatever its date: a
    back-dated case can move a sanction that another entry triggered, months later."""
    sanctions_created: list[SanctionOut] = []
    sanctions_changed: list[SanctionOut] = Field(default=[], description="same sanction, new dates")
    sanctions_lifted: list[SanctionOut] = []


class PractitionerOutcome(SanctionsMoved):
    """What a write did to one practitioner."""
    practitioner: str
    year_totals: dict[str, int] = Field(description="after the write: the years it scored and every year whose total moved")
    standing_before: StandingOut = Field(description="today, before the write")
    standing_after: StandingOut = Field(description="today, after the write")


class EntryResult(BaseModel):
    id: int | None = Field(description="the ledger entry; none while the entry is only proposed")
    status: Literal["counted", "absorbed", "proposed"] = Field(
        default="counted", description="absorbed: another entry of the same act counts, at higher points")
    proposal_id: int | None = None
    defence_deadline: date | None = Field(default=None, description="proposed only: last day for a defence")
    defence_deadline_provisional: bool | None = Field(
        default=None, description="proposed only: the deadline was counted with weekends only across a year "
                                  "whose official holidays are not loaded yet (recomputed, never earlier, once they are)")
    practitioner: str
    act: str | None = None
    violation_type: str
    tier: Tier | None
    circumstances: Circumstances | None
    points: int
    counts_from: Literal["decision", "confirmation"] = Field(
        default="decision", description="the day the entry takes effect: the decision date, or (notified "
        "entries under a ruleset that says so) the day it is confirmed")
    year: int | None = Field(description="the year it counts in; none until a notified entry is confirmed "
                             "when it counts from the confirmation")
    year_total: int = Field(description="that year's total after the case (today's year while unknown)")
    standing_before: StandingOut = Field(description="on the decision date")
    standing_after: StandingOut = Field(description="on the decision date")
    sanctions_created: list[SanctionOut] = Field(
        description="the sanctions this entry triggered; the practitioner's first entry in the case also "
        "lists those the case created through older entries (see outcomes)")


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
    outcomes: list[PractitionerOutcome] = Field(default=[], description="per practitioner: year totals and "
                                                "every sanction the case created, changed or lifted")


class ScoreCaseLineOut(BaseModel):
    """One line of the answer to a stream of cases (``POST /v1/score-cases/bulk``): what became of
    the input line ``line`` (counted from 1, blank lines included). ``status`` is what the case
    would have been answered alone: 201 recorded, 200 a repeat (the first answer, nothing changed),
    422 refused (nothing recorded), 503 the database failed (send the line again), 500."""

    line: int
    case_ref: str | None = Field(description="null when the line did not parse far enough to say")
    status: Literal[200, 201, 422, 500, 503]
    case: ScoreCaseOut | None = Field(default=None, description="200 and 201: the case as recorded")
    problem: dict | None = Field(default=None, description="422, 500 and 503: the problem+json the case "
                                 "would have been answered alone, its fields named from `body`")


class ScoreCaseStreamSummary(BaseModel):
    """The last line of the answer: counts of the lines' outcomes. A stream cut short (a lost
    connection) has no summary: send it again, repeats change nothing."""

    lines: int
    created: int
    replayed: int
    refused: int
    failed: int = Field(description="500 and 503: send those lines again")
    entries_recorded: int


class ScoreCaseStreamEnd(BaseModel):
    summary: ScoreCaseStreamSummary


class ReversalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class ReversalOut(SanctionsMoved):
    id: int
    entry_id: int
    practitioner: str
    reason: str
    effective_on: date
    year_total: int
    year_totals: dict[str, int] = {}
    standing: StandingOut


class RepairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    activity: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    occurred_on: Day
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="certificate or record number; one reference counts once"
    )


class RepairOut(SanctionsMoved):
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


class RegistrationOut(SanctionsMoved):
    id: int
    practitioner: str
    registered_on: date
    standing: StandingOut


class StandingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"codes": ["D150428000123", "D150402000103"]},
                                        {"codes": ["D150428000123"], "at": "2025-12-31"}]})
    codes: list[Annotated[str, StringConstraints(max_length=20)]] = Field(min_length=1, max_length=_settings.max_batch_size)
    at: str | None = Field(default=None, description="a date (2025-12-31), or an ISO 8601 instant with offset "
                           "read as its date in Asia/Shanghai; default now")
    known_at: Instant | None = Field(
        default=None, description="an ISO 8601 instant with offset, not in the future: answer as the ledger stood "
        "then (rows recorded at or before it; a person registered later is not found); `at` then defaults to its "
        "date in Asia/Shanghai")


class StandingAnswer(BaseModel):
    code: str
    found: bool
    standing: StandingOut | None = None


class StandingQueryOut(BaseModel):
    results: list[StandingAnswer]


class StandingData(BaseModel):
    """One person's standing data, as the feed and the snapshot send it: what a standing check's
    answer is computed from (``standing.evaluate`` on the timeline, the ruleset in force for the
    region), and nothing else."""
    code: str
    version: int = Field(description="per person, higher for every later change: keep the highest seen")
    region: str = Field(description="the region whose rulesets apply")
    registered_on: date
    first_year: int | None = Field(description="null: the timeline has nothing in it (active from registered_on, "
                                               "0 points)")
    timeline: dict | None = Field(description="the stored standing timeline (app/scoring/standing.py Timeline); "
                                              "null when none is stored yet")


class StandingChangesOut(BaseModel):
    items: list[StandingData]
    next_cursor: str = Field(description="always given: ask again from here; fewer items than limit means "
                                         "caught up")


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


class RulesetDocument(Ruleset):
    """The full ruleset as validated and stored (documentation of GET /v1/rulesets/{id})."""
    sha256: str = Field(description="SHA-256 of the ruleset's canonical content")


class RulesetSummary(BaseModel):
    id: str
    name: str
    jurisdiction: str
    effective_from: date
    sha256: str
