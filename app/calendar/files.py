"""A year's official days as a document: the TOML files in ``years/`` (one per year) and the same
content sent as JSON to the API. Pure: the only I/O is reading the bundled files.

A document lists every official day of its year, each with its kind and the holiday it belongs
to::

    year = 2027
    notice = "国办发明电〔2026〕N号"   # optional: the State Council notice it follows
    days = [
      { date = 2027-01-01, kind = "holiday", name = "元旦" },
      { date = 2027-02-06, kind = "workday", name = "春节" },   # a Saturday worked (调休)
    ]

``holiday``: a day off (weekend days inside a holiday may be listed or not); ``workday``: a
Saturday or Sunday worked in exchange. Each day goes in the file of its own year, even when the
notice of the next year announces it.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from app.kit.timeutil import Day
from app.shared.workdays import HOLIDAY, WORKDAY, Calendar

BUNDLED_DIR = Path(__file__).with_name("years")
FIRST_YEAR, LAST_YEAR = 2000, 2099

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Notice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OfficialDay(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    date: Day
    kind: Literal["holiday", "workday"] = Field(
        description="holiday: a day off; workday: a Saturday or Sunday worked in exchange (调休)")
    name: Name = Field(description="the holiday it belongs to, e.g. 春节")


class Document(BaseModel):
    """What a file holds; the API takes the same fields (the year from its path)."""

    model_config = ConfigDict(extra="forbid")
    year: int | None = Field(default=None, ge=FIRST_YEAR, le=LAST_YEAR)
    notice: Notice | None = None
    days: list[OfficialDay] = Field(min_length=1, max_length=366)


class YearData(BaseModel):
    """A checked year: every day in it, no date twice, adjusted workdays on weekends only."""

    model_config = ConfigDict(frozen=True)
    year: int
    notice: str | None
    days: tuple[OfficialDay, ...]  # by date

    def sha256(self) -> str:
        """Of the content, whatever the order or layout it was written in."""
        canonical = json.dumps(self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def holidays(self) -> int:
        return sum(d.kind == HOLIDAY for d in self.days)

    @property
    def workdays(self) -> int:
        return sum(d.kind == WORKDAY for d in self.days)


class CalendarFileError(ValueError):
    """An invalid document. ``problems``: (field path, message) pairs, paths within the document
    (``days.3.date``); the API prefixes where the document was (``body``, ``body.toml``)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source, self.problems = source, problems
        super().__init__("\n".join(f"{source}: {path}: {msg}" if path else f"{source}: {msg}"
                                   for path, msg in problems))


def checked(document: Document, year: int | None = None, source: str = "<document>") -> YearData:
    """The document as a year, or CalendarFileError naming every bad field. ``year``: the year it
    must be (from a path or file name); otherwise the document must say."""
    problems: list[tuple[str, str]] = []
    if year is None and document.year is None:
        problems.append(("year", "missing: which year these days are for"))
    elif year is not None and document.year is not None and document.year != year:
        problems.append(("year", f"is {document.year}, but the days were sent for {year}"))
    year = year if year is not None else document.year
    seen: dict[date, int] = {}
    for i, day in enumerate(document.days):
        if year is not None and day.date.year != year:
            problems.append((f"days.{i}.date", f"{day.date.isoformat()} is outside {year}: "
                                               "each day goes in the file of its own year"))
        if day.kind == WORKDAY and day.date.weekday() < 5:
            problems.append((f"days.{i}.date", f"{day.date.isoformat()} is a {day.date.strftime('%A')}: only a "
                                               "Saturday or Sunday can be an adjusted working day (kind workday)"))
        if day.date in seen:
            problems.append((f"days.{i}.date", f"{day.date.isoformat()} is listed twice (also days.{seen[day.date]})"))
        else:
            seen[day.date] = i
    if not any(d.kind == HOLIDAY for d in document.days):
        problems.append(("days", "lists no holiday: a year's notice always has some"))
    if problems:
        raise CalendarFileError(source, problems)
    return YearData(year=year, notice=document.notice, days=tuple(sorted(document.days, key=lambda d: d.date)))


def parse(text: str, year: int | None = None, source: str = "<document>") -> YearData:
    """A TOML document, checked."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarFileError(source, [("", f"invalid TOML: {exc}")]) from None
    try:
        document = Document.model_validate(data)
    except ValidationError as exc:
        raise CalendarFileError(source, problems_of(exc)) from None
    return checked(document, year, source)


def problems_of(exc: ValidationError) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()]


def read(path: Path) -> YearData:
    """A file named after its year (``2027.toml``)."""
    path = Path(path)
    year = int(path.stem) if path.stem.isdigit() else None
    return parse(path.read_text(encoding="utf-8"), year, source=path.name)


def bundled() -> list[YearData]:
    """The years shipped with the service, by year."""
    return [read(path) for path in sorted(BUNDLED_DIR.glob("*.toml"))]


def calendar_of(years: list[YearData]) -> Calendar:
    return Calendar.of(((d.date, d.kind) for y in years for d in y.days), (y.year for y in years))
