"""Property-based fuzzing of the API against its own OpenAPI document (schemathesis), in process.

Every operation is called with a valid key of each role that may call it, with data the document
allows and data it forbids, and every answer must hold: no 500, a declared status, the declared
content type and headers, a body matching the declared schema, schema-violating input refused,
a 405 naming the path's real methods. (Which role is refused where is the authorization matrix's
business; here each role goes as deep as it can.) Runs on both databases (the suite runs twice in
CI), derandomised so a failure replays, and small enough to stay near a minute.

One setting is relaxed, with its reason: schema-valid input may still be refused with 422. The
document states each value's shape (a 6-digit region, a code pattern) but not the rules behind
it (the GB/T 2260 division table, ID check digits, a violation type of the ruleset in force):
those are business validation, answered with a 422 problem naming the field, whose body the
schema check still validates.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from app.auth.deps import route_roles
from app.kit.openapi import operation_id
from app.kit.routing import endpoint_routes
from app.main import app as served_app

CONFIG = SchemathesisConfig.from_str("""
[checks]
positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# A stream of cases refuses a bad line in its answer (a line with status 422), not the stream with
# a 4xx: the other lines are recorded. tests/scoring/test_bulk_cases.py holds what each line gets.
[[operations]]
include-path = "/v1/score-cases/bulk"
checks.negative_data_rejection.enabled = false
""")



@schemathesis.serializer("application/x-ndjson")
def _ndjson(_ctx, value) -> bytes:
    """A stream of documents (POST /v1/score-cases/bulk): the generated one, or each of a list, a line each."""
    documents = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(document, ensure_ascii=False).encode() + b"\n" for document in documents)


schema = schemathesis.openapi.from_asgi("/openapi.json", served_app, config=CONFIG)

# A key of each role, in a region with practitioners, referrals and notices of its own.
ROLES = {"bureau": ("150000", None), "partner": ("150000", "health"), "checker": ("150000", None),
         "admin": ("100000", None)}


def operations_of(role: str) -> list[str]:
    """The operations a key of ``role`` may call (those needing no key go with the bureau's)."""
    found = []
    for route in endpoint_routes(served_app.router.routes):
        if isinstance(route, APIRoute) and route.include_in_schema:
            roles = route_roles(route)
            if role in (roles if roles is not None else {"bureau"}):
                found.append(operation_id(route))  # the document's operationId
    return found


FUZZ = settings(max_examples=10, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def key_of(make_key):
    """key_of(role) -> headers with that role's key, made once per test."""
    made = {}

    def key(role: str) -> dict[str, str]:
        if role not in made:
            made[role] = make_key(role, *ROLES[role])
        return made[role]

    return key


def call_as(role: str, case, key_of) -> None:
    # The suite's rate limits are far above what the fuzzing sends (tests/conftest.py): no 429 here.
    case.call_and_validate(headers=key_of(role))


@schema.include(operation_id=operations_of("bureau")).parametrize()
@FUZZ
def test_bureau(case, key_of):
    call_as("bureau", case, key_of)


@schema.include(operation_id=operations_of("partner")).parametrize()
@FUZZ
def test_partner(case, key_of):
    call_as("partner", case, key_of)


@schema.include(operation_id=operations_of("checker")).parametrize()
@FUZZ
def test_checker(case, key_of):
    call_as("checker", case, key_of)


@schema.include(operation_id=operations_of("admin")).parametrize()
@FUZZ
def test_admin(case, key_of):
    call_as("admin", case, key_of)
