from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from app.kit.timeutil import Day
from app.practitioners import identity


class Category(StrEnum):
    physician = "physician"
    nurse = "nurse"
    pharmacist = "pharmacist"
    technician = "technician"
    billing_reviewer = "billing_reviewer"
    pharmacy_manager = "pharmacy_manager"
    other = "other"


def _check(problem_of):
    def validator(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(validator)


def _shape(pattern: str, example: str) -> WithJsonSchema:
    """The code's shape for the OpenAPI document; whether its division exists is checked on input."""
    return WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]})


RegionCode = Annotated[str, StringConstraints(strip_whitespace=True), _check(identity.region_problem),
                       _shape(r"^\s*[0-9]{6}\s*$", "150428")]
InstitutionCode = Annotated[str, StringConstraints(strip_whitespace=True), _check(identity.institution_code_problem),
                            _shape(r"^\s*[HP][0-9]{11}\s*$", "H15042800001")]
PractitionerCode = Annotated[str, _check(identity.practitioner_code_problem),
                             _shape(r"^[A-Z]{1,2}[0-9]{12}$", "D150428000123")]
IdNumber = Annotated[str, AfterValidator(identity.normalise_id_number)]


class InstitutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: InstitutionCode
    name: str | None = Field(default=None, max_length=200)


class PractitionerIn(BaseModel):
    """A full registration record (PUT replaces it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "王某某", "id_number": "150428198001010014", "category": "physician", "region": "150428",
        "institutions": [{"code": "H15042800001", "name": "喀喇沁旗医院"}], "registered_on": "2024-01-01"}]})
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    id_number: IdNumber = Field(description="18-character resident ID number; stored encrypted, never returned")
    category: Category
    region: RegionCode
    institutions: list[InstitutionIn] = Field(
        min_length=1, max_length=50,
        description="where they work: links to institutions of the registry; a practitioner's registration "
        "never renames one, and registers a missing one only in the caller's region")
    registered_on: Day


class InstitutionOut(BaseModel):
    code: str
    name: str | None
    region: str


class InstitutionRecordIn(BaseModel):
    """An institution in the registry, kept by the bureau of the region its code names."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class InstitutionPage(BaseModel):
    items: list[InstitutionOut]
    next_cursor: str | None


class PractitionerOut(BaseModel):
    code: str
    name: str
    id_number_masked: str
    category: Category
    region: str
    region_name: str | None
    institutions: list[InstitutionOut]
    registered_on: date
    created_at: datetime
    updated_at: datetime


class PractitionerPage(BaseModel):
    items: list[PractitionerOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page")


class IdNumberSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: IdNumber
