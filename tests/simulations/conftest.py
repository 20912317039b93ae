"""A hand-made ledger in Karaqin Banner (150428, inner-mongolia-2025 from 2025-01-01) and helpers to
run simulations over it through the API and the worker job."""

from __future__ import annotations

import pytest

from app.scoring.rulesets import BUNDLED_DIR
from app.simulations import service as simulations

INNER_MONGOLIA = (BUNDLED_DIR / "inner-mongolia-2025.toml").read_text(encoding="utf-8")
NATIONAL = (BUNDLED_DIR / "national-2024.toml").read_text(encoding="utf-8")
RULESET = "inner-mongolia-2025"


def edited(text: str, *changes: tuple[str, str]) -> str:
    """The ruleset text with each (old, new) replaced exactly once."""
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} is not in the text exactly once"
        text = text.replace(old, new)
    return text


# The typical provincial revision: suspension from 7 points instead of 9, one month up to 9.
LOWER_SUSPENSION = edited(
    INNER_MONGOLIA,
    ('id = "inner-mongolia-2025"', 'id = "inner-mongolia-2026"'),
    ("suspension = 9\n", "suspension = 7\n"),
    ("months_by_total = { 9 = 1, 10 = 2, 11 = 3 }", "months_by_total = { 7 = 1, 8 = 1, 9 = 1, 10 = 2, 11 = 3 }"),
)


def code(n: int) -> str:
    return f"D150428{n:06d}"


A, B, C, D, E, F, G = (code(n) for n in range(1, 8))
OUTSIDER = "D120101000001"  # Tianjin: outside 150428


@pytest.fixture
def ledger(scoring, clock):
    """Seven people of 150428 and one of Tianjin, scored through the API; today is 2026-02-01, so
    2025 is a past year and standings are compared on 2025-12-31.

    Under inner-mongolia-2025 (suspension at 9, termination at 12; light 1/1/2, heavier 3/4/5,
    serious 6/7/8, most serious 9/10/12):
    A  7 points (UPCODING general 6 on 03-01, RECORDS-MISSING general 1 on 12-20): active
    B  8 points (UPCODING primary on 05-10): active
    C  5 points (SPLIT-CHARGING general 3, RECORDS-MISSING primary 2): active
    D  9 points (UPCODING primary 8 on 05-10, RECORDS-MISSING general 1 on 09-01): suspended from 09-01
    E 12 points in one case (FRAUD-IMPERSONATION primary): terminated on 04-01
    F  8 points, reversed: nothing stands in 2025
    G terminated on 2024-11-01 (12 points under national-2024), then 8 points on 2025-06-01
    and the outsider, in Tianjin, 8 points.
    """
    clock.set("2026-02-01")
    for person in (A, B, C, D, E, F, G):
        scoring.register(RULESET, code=person)
    scoring.register("tianjin-2024", code=OUTSIDER)
    im = {"ruleset": RULESET}
    scoring.score(A, "A1", "2025-03-01", violation="UPCODING", tier="general", **im)
    scoring.score(A, "A2", "2025-12-20", violation="RECORDS-MISSING", tier="general", **im)
    scoring.score(B, "B1", "2025-05-10", violation="UPCODING", tier="primary", **im)
    scoring.score(C, "C1", "2025-02-01", violation="SPLIT-CHARGING", tier="general", **im)
    scoring.score(C, "C2", "2025-02-02", violation="RECORDS-MISSING", tier="primary", **im)
    scoring.score(D, "D1", "2025-05-10", violation="UPCODING", tier="primary", **im)
    scoring.score(D, "D2", "2025-09-01", violation="RECORDS-MISSING", tier="general", **im)
    scoring.score(E, "E1", "2025-04-01", violation="FRAUD-IMPERSONATION", tier="primary", **im)
    reversed_entry = scoring.score(F, "F1", "2025-07-01", violation="UPCODING", tier="primary", **im)
    response = scoring.client.post(f"/v1/score-entries/{reversed_entry['id']}/reversal",
                                   json={"reason": "复议撤销"}, headers=scoring.headers)
    assert response.status_code == 201, response.text
    scoring.score(G, "G0", "2024-11-01", violation="FRAUD-IMPERSONATION", tier="primary", **im)
    scoring.score(G, "G1", "2025-06-01", violation="UPCODING", tier="primary", **im)
    scoring.score(OUTSIDER, "T1", "2025-05-10", violation="UPCODING", tier="important", ruleset="tianjin-2024")
    assert scoring.standing(D, "2025-09-15")["status"] == "suspended"
    assert scoring.standing(G, "2025-12-31")["status"] == "terminated"
    return scoring


@pytest.fixture
def simulate(api, scoring):
    """simulate(draft, region, year, headers=None) -> (simulation, report) after the worker job ran it."""

    def run(draft: str, region: str = "150428", year: int = 2025, headers: dict | None = None):
        headers = headers or scoring.headers
        response = api.post("/v1/rulesets/simulations", json={"draft": draft, "region": region, "year": year},
                            headers=headers)
        assert response.status_code == 202, response.text
        assert response.json()["state"] == "queued"
        assert simulations.run_next() == 1
        simulation = api.get(response.headers["Location"], headers=headers).json()
        assert simulation["state"] == "done", simulation
        report = api.get(simulation["links"]["json"], headers=headers)
        assert report.status_code == 200, report.text
        return simulation, report.json()

    return run


def by_code(report: dict) -> dict[str, dict]:
    return {row["code"]: row for row in report["practitioners"]}
