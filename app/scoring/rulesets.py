"""Scoring rulesets: the configurable numbers of 医保支付资格记分, loaded from TOML files.

A ruleset governs one jurisdiction from its effective date until a newer ruleset of the same
jurisdiction takes over. Every number the engine needs (bands, tier points, thresholds, months,
bars, repair limits) lives here, never in code, because provinces differ and rules change.
Pure module: the only I/O is reading ruleset files in the loader functions.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.shared.regions import covers, is_valid_region, level

Tier = Literal["general", "important", "primary"]
Circumstances = Literal["mitigating", "aggravating"]

TIERS: tuple[Tier, ...] = get_args(Tier)  # ascending responsibility
BUNDLED_DIR = Path(__file__).with_name("rulesets")

_SPECIFICITY = {"national": 0, "province": 1, "prefecture": 2, "county": 3}


class _At(ValueError):
    """A validation failure below the validator's own location (a list item, a dict key).

    Pydantic only knows where a validator is attached; this carries the rest of the path so the
    error message can point at e.g. ``bands.1.points.general`` rather than at the whole model.
    """

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    min: int
    max: int
    points: dict[Tier, int]

    @model_validator(mode="after")
    def _check(self) -> Band:
        if self.max < self.min:
            raise _At(("max",), f"{self.max} is below min {self.min}")
        previous = None
        for tier in TIERS:
            if tier not in self.points:
                raise _At(("points", tier), "missing")
            value = self.points[tier]
            if not self.min <= value <= self.max:
                raise _At(("points", tier), f"{value} is outside the band {self.min}-{self.max}")
            if previous is not None and value < previous:
                raise _At(("points", tier), f"{value} is below the lower tier's {previous}")
            previous = value
        return self


class ViolationType(_Model):
    code: str = Field(pattern=r"^[A-Z0-9-]+$")
    name: str = Field(min_length=1)
    band: str


class Thresholds(_Model):
    warning: int | None = None
    warning_action: Literal["interview"] | None = None
    suspension: int
    termination: int

    @model_validator(mode="after")
    def _check(self) -> Thresholds:
        if (self.warning is None) != (self.warning_action is None):
            raise _At(("warning_action",), "is required exactly when warning is set")
        if self.warning is not None and not 0 < self.warning < self.suspension:
            raise _At(("warning",), f"must be above 0 and below suspension ({self.suspension})")
        if self.suspension <= 0:
            raise _At(("suspension",), "must be above 0")
        if self.termination <= self.suspension:
            raise _At(("termination",), f"must be above suspension ({self.suspension})")
        return self


class SuspensionRule(_Model):
    min_months: int = Field(ge=1)
    max_months: int
    months_by_total: dict[int, int]
    # A score that leaves the year total at or above the level while this year's suspension runs
    # calls for the months of the new total from its own day: "extend" runs that beside the one in
    # force (the later end wins); "stack" serves it after. There is no "ignore": a back-dated case
    # could then move the suspension earlier and shorten it, and more points must never do that.
    later_scores: Literal["extend", "stack"] = "extend"

    @model_validator(mode="after")
    def _check(self) -> SuspensionRule:
        if self.max_months < self.min_months:
            raise _At(("max_months",), f"{self.max_months} is below min_months {self.min_months}")
        previous = None
        for total, months in sorted(self.months_by_total.items()):
            if not self.min_months <= months <= self.max_months:
                raise _At(
                    ("months_by_total", total),
                    f"{months} is outside {self.min_months}-{self.max_months} months",
                )
            if previous is not None and months < previous:
                # More points must never mean a shorter suspension.
                raise _At(("months_by_total", total), f"{months} is below the {previous} months of a lower total")
            previous = months
        return self


class ReregistrationRule(_Model):
    bar_years_after_accumulation: int = Field(ge=0)
    bar_years_after_single_case: int = Field(ge=0)


class RepairRule(_Model):
    points_per_activity: int = Field(ge=1)
    yearly_cap: int = Field(ge=0)
    lifts_sanction: bool
    activities: list[str]


class DefenceRule(_Model):
    """Due process for entries the service notifies (procedure ``notify``)."""

    window_working_days: int = Field(default=5, ge=1)
    # Confirm an entry by itself once the window closes without a statement of defence.
    auto_confirm: bool = False
    # A confirmed entry counts from the confirmation date, or from the case's decision date.
    effective_from: Literal["confirmation", "decision"] = "confirmation"


class AppealRule(_Model):
    """申诉: a counting entry may be appealed within this many working days of counting."""

    window_working_days: int = Field(default=15, ge=1)


class Ruleset(_Model):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str = Field(min_length=1)
    jurisdiction: str
    effective_from: date
    note: str = ""
    band_shift: bool
    emergency_exemption: bool
    bands: list[Band] = Field(min_length=1)
    thresholds: Thresholds
    suspension: SuspensionRule
    reregistration: ReregistrationRule
    repair: RepairRule
    defence: DefenceRule = DefenceRule()
    appeal: AppealRule = AppealRule()
    violation_types: list[ViolationType] = Field(min_length=1)

    @field_validator("jurisdiction")
    @classmethod
    def _known_region(cls, code: str) -> str:
        if not is_valid_region(code):
            raise ValueError(f"{code!r} is not a GB/T 2260 division code")
        return code

    @model_validator(mode="after")
    def _check(self) -> Ruleset:
        # Ascending and contiguous bands: one rule that also rules out gaps, overlaps and disorder.
        if self.bands[0].min < 1:
            raise _At(("bands", 0, "min"), "the lowest band must start at 1 or above")
        codes: set[str] = set()
        for i, band in enumerate(self.bands):
            if band.code in codes:
                raise _At(("bands", i, "code"), f"duplicate band code {band.code!r}")
            codes.add(band.code)
            if i and band.min != self.bands[i - 1].max + 1:
                prev = self.bands[i - 1]
                raise _At(
                    ("bands", i, "min"),
                    f"{band.min} must be {prev.max + 1}: bands are ascending and contiguous "
                    f"(previous band {prev.code!r} ends at {prev.max})",
                )

        if self.suspension.max_months > 12 * self.reregistration.bar_years_after_accumulation:
            # A termination ends the suspensions it supersedes; the bar must outlast what they had
            # left, or more points (a termination, then a re-registration) would end a sanction sooner.
            raise _At(("suspension", "max_months"),
                      f"{self.suspension.max_months} months outlast the re-registration bar of "
                      f"{self.reregistration.bar_years_after_accumulation} years after accumulation")
        wanted = set(range(self.thresholds.suspension, self.thresholds.termination))
        given = set(self.suspension.months_by_total)
        if extra := sorted(given - wanted):
            raise _At(
                ("suspension", "months_by_total", extra[0]),
                f"total {extra[0]} is outside suspension..termination-1 "
                f"({min(wanted)}-{max(wanted)})",
            )
        if missing := sorted(wanted - given):
            raise _At(("suspension", "months_by_total"), f"no months for totals {missing}")

        seen: set[str] = set()
        for i, violation in enumerate(self.violation_types):
            if violation.code in seen:
                raise _At(("violation_types", i, "code"), f"duplicate code {violation.code!r}")
            seen.add(violation.code)
            if violation.band not in codes:
                raise _At(
                    ("violation_types", i, "band"),
                    f"unknown band {violation.band!r} (bands: {', '.join(b.code for b in self.bands)})",
                )
        return self

    def band(self, code: str) -> Band:
        for band in self.bands:
            if band.code == code:
                return band
        raise KeyError(code)

    def violation(self, code: str) -> ViolationType | None:
        return next((v for v in self.violation_types if v.code == code), None)

    def band_for(self, violation_code: str, circumstances: Circumstances | None) -> Band:
        violation = self.violation(violation_code)
        if violation is None:
            raise KeyError(violation_code)
        index = next(i for i, b in enumerate(self.bands) if b.code == violation.band)
        if self.band_shift and circumstances is not None:
            step = -1 if circumstances == "mitigating" else 1
            index = max(0, min(len(self.bands) - 1, index + step))
        return self.bands[index]

    def points(
        self, violation_code: str, tier: Tier, circumstances: Circumstances | None = None
    ) -> int:
        return self.band_for(violation_code, circumstances).points[tier]

    def band_of_total(self, points: int) -> Band | None:
        """The band a year total falls in, for counting people by band: None without points, the
        lowest band below it, the top band above it (totals pass 12 where several cases add up)."""
        if points <= 0:
            return None
        if points < self.bands[0].min:
            return self.bands[0]
        return next((b for b in self.bands if b.min <= points <= b.max), self.bands[-1])

    def suspension_months(self, total: int) -> int:
        if total < self.thresholds.suspension:
            raise ValueError(f"a total of {total} does not reach suspension")
        table = self.suspension.months_by_total
        return table[min(total, max(table))]

    def content_hash(self) -> str:
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RulesetError(ValueError):
    """An invalid ruleset. ``problems`` holds (field path, message) pairs for API use."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            "\n".join(f"{source}: {path}: {msg}" if path else f"{source}: {msg}" for path, msg in problems)
        )


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _At):
            loc.extend(cause.path)
        message = str(cause) if isinstance(cause, ValueError) else err["msg"]
        problems.append((".".join(str(part) for part in loc), message))
    return problems


def parse_ruleset(text: str, source: str = "<draft>") -> Ruleset:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesetError(source, [("", f"invalid TOML: {exc}")]) from exc
    except RecursionError:
        raise RulesetError(source, [("", "invalid TOML: nested too deep")]) from None
    try:
        return Ruleset.model_validate(data)
    except ValidationError as exc:
        raise RulesetError(source, _problems(exc)) from exc


def load_ruleset(path: Path) -> Ruleset:
    return parse_ruleset(Path(path).read_text(encoding="utf-8"), source=Path(path).name)


def load_rulesets(directory: Path | None = None) -> list[Ruleset]:
    directory = BUNDLED_DIR if directory is None else Path(directory)
    by_id: dict[str, tuple[Ruleset, str]] = {}
    for path in sorted(directory.glob("*.toml")):
        ruleset = load_ruleset(path)
        if ruleset.id in by_id:
            other = by_id[ruleset.id][1]
            raise RulesetError(path.name, [("id", f"duplicate id {ruleset.id!r}, also in {other}")])
        by_id[ruleset.id] = (ruleset, path.name)
    # Two rulesets of one jurisdiction starting the same day would make selection ambiguous.
    starts: dict[tuple[str, date], str] = {}
    for ruleset, name in by_id.values():
        key = (ruleset.jurisdiction, ruleset.effective_from)
        if key in starts:
            raise RulesetError(
                name,
                [("effective_from", f"{starts[key]} governs the same jurisdiction from the same day")],
            )
        starts[key] = name
    return sorted((r for r, _ in by_id.values()), key=lambda r: (r.jurisdiction, r.effective_from))


def select_ruleset(rulesets: Sequence[Ruleset], region: str, on: date) -> Ruleset | None:
    """The ruleset in force for ``region`` on ``on``.

    A narrower jurisdiction in force wins over a wider one even when the wider one is newer
    (a new national default does not override a province's own rule); within one level the
    latest effective date wins.
    """
    in_force = [r for r in rulesets if r.effective_from <= on and covers(r.jurisdiction, region)]
    return max(
        in_force,
        key=lambda r: (_SPECIFICITY[level(r.jurisdiction)], r.effective_from),
        default=None,
    )
