"""A deadline stored while a year is being loaded waits for the load and counts with that year:
otherwise it would be committed as provisional after the load's recomputation, and stay so."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
from sqlalchemy import text

from app.calendar.models import CalendarDay, CalendarYear
from app.kit.db import write_session
from tests.shared_fixtures import violation_with


def test_a_case_notified_during_a_load_waits_for_it(live_server, scoring, clock):
    clock.set("2026-12-28")
    code = scoring.register()
    body = scoring.case_body("during-load", [{"practitioner": code, "violation_type": violation_with(2, "national-2024"), "points": 2}],
                             day="2026-12-28", procedure="notify")
    with write_session() as session, ThreadPoolExecutor(1) as pool:
        # What calendar.service.load does first, held open: its lock, then the year's rows.
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("LOCK TABLE calendar_years IN SHARE ROW EXCLUSIVE MODE"))
        session.add(CalendarYear(year=2027, source="api", sha256="0" * 64, loaded_by="test"))
        session.flush()
        session.add(CalendarDay(day=date(2027, 1, 1), year=2027, kind="holiday", name="元旦"))
        session.flush()
        posted = pool.submit(httpx.post, f"{live_server}/v1/score-cases", json=body, headers=scoring.headers,
                             timeout=60)
        time.sleep(0.5)
        assert not posted.done(), posted.result().text  # waiting for the load
        session.commit()
        response = posted.result()
    assert response.status_code == 201, response.text
    entry = response.json()["entries"][0]
    assert (entry["defence_deadline"], entry["defence_deadline_provisional"]) == ("2027-01-05", False)
