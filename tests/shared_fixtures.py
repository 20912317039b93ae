"""Fixtures several test packages share: a scoring bureau with its helpers, and a settable clock.

Registered from tests/conftest.py through ``pytest_plugins``.
"""

from datetime import UTC, date, datetime, time

import pytest

from app.kit import timeutil
from app.scoring.rulesets import load_rulesets
from tests.conftest import practitioner_body

# One region per bundled ruleset: the institution's region selects it.
REGIONS = {
    "national-2024": ("210402", "H21040200001", "210402199003150034"),  # 抚顺 (Liaoning): national default
    "tianjin-2024": ("120101", "H12010100001", "120101197511200049"),
    "inner-mongolia-2025": ("150428", "H15042800001", "150428198001010014"),
}


@pytest.fixture
def scoring(api, make_key):
    """A national bureau key and helpers to register people and post cases in a ruleset's region."""

    class Scoring:
        headers = make_key("bureau", "100000")
        client = api

        def post_body(self, body, headers=None):
            return api.post("/v1/score-cases", json=body, headers=headers or self.headers)

        def register(self, ruleset="national-2024", code=None, registered_on="2020-01-01", **fields):
            region, institution, id_number = REGIONS[ruleset]
            code = code or f"D{region}000001"
            body = practitioner_body(region=region, institutions=[{"code": institution}], id_number=id_number,
                                     registered_on=registered_on, **fields)
            response = api.put(f"/v1/practitioners/{code}", json=body, headers=self.headers)
            assert response.status_code in (200, 201), response.text
            return code

        def case_body(self, ref, entries, day="2025-03-01", ruleset="national-2024", **fields):
            return {"case_ref": ref, "basis": "administrative_penalty", "decision_number": f"医保罚〔2025〕{ref}号",
                    "decision_date": day, "institution": REGIONS[ruleset][1], "entries": entries, **fields}

        def post(self, ref, entries, headers=None, key=None, **kw):
            extra = {"Idempotency-Key": key} if key else {}
            return api.post("/v1/score-cases", json=self.case_body(ref, entries, **kw),
                            headers={**(headers or self.headers), **extra})

        def score(self, code, ref, day, points=None, violation="SPLIT-CHARGING", tier="general", ruleset="national-2024", **entry):
            item = {"practitioner": code, "violation_type": violation, **entry}
            item.update({"points": points} if points is not None else {"tier": tier})
            response = self.post(ref, [item], day=day, ruleset=ruleset)
            assert response.status_code == 201, response.text
            return response.json()["entries"][0]

        def standing(self, code, at):
            response = api.get(f"/v1/practitioners/{code}/standing", params={"at": at}, headers=self.headers)
            assert response.status_code == 200, response.text
            return response.json()

    return Scoring()


def violation_with(points: int, ruleset: str) -> str:
    """A violation type of the ruleset whose band admits ``points``."""
    rs = next(r for r in load_rulesets() if r.id == ruleset)
    return next(v.code for v in rs.violation_types if rs.band(v.band).min <= points <= rs.band(v.band).max)


@pytest.fixture
def clock(monkeypatch):
    """Sets the service's 'today' (Asia/Shanghai): ``clock.set("2025-01-24")``."""

    class Clock:
        def set(self, day: str) -> None:
            noon_shanghai_in_utc = datetime.combine(date.fromisoformat(day), time(4, 0), tzinfo=UTC)
            monkeypatch.setattr(timeutil, "utcnow", lambda: noon_shanghai_in_utc)

    return Clock()


@pytest.fixture
def admin_calendar(api, make_key):
    """Loads calendar years as an administrator: ``admin_calendar.load(2027, [(date, kind, name), ...])``.
    tests/conftest.py puts the bundled calendar back after the test."""

    class AdminCalendar:
        headers = make_key("admin", "100000")

        def put(self, year, body, headers=None):
            return api.put(f"/v1/calendar/years/{year}", json=body, headers=headers or self.headers)

        def load(self, year, days, notice=None):
            body = {"days": [{"date": d, "kind": k, "name": n} for d, k, n in days]}
            if notice:
                body["notice"] = notice
            response = self.put(year, body)
            assert response.status_code in (200, 201), response.text
            return response.json()

    return AdminCalendar()
