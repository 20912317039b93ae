"""referral.overdue: once per missed deadline, from the worker job or the CLI, even when two run at once."""

import json
from datetime import date

import pytest
from sqlalchemy import text

from app.cli import main
from app.referrals import jobs
from app.worker import registered_jobs
from tests.conftest import concurrently


def overdue_events(engine):
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT payload, department FROM events WHERE type = 'referral.overdue' ORDER BY id"))
        return [(json.loads(p)["deadline"], json.loads(p)["due_on"], d) for p, d in rows]


def test_each_missed_deadline_is_reported_once(referrals, engine, capsys):
    referral = referrals.create(on="2025-03-03")
    referrals.step(referral["id"], "send", referrals.bureau, on="2025-03-03")
    assert jobs.emit_overdue(date(2025, 3, 10)) == 0  # due that day: not late yet
    assert jobs.emit_overdue(date(2025, 3, 11)) == 1
    assert jobs.emit_overdue(date(2025, 3, 11)) == 0
    assert main(["referrals", "emit-overdue", "--today", "2025-03-20"]) == 0
    assert capsys.readouterr().out == "0\n"
    assert overdue_events(engine) == [("receipt", "2025-03-10", "health")]
    # received late; the filing decision has its own deadline, missed in turn
    referrals.step(referral["id"], "receive", referrals.health, on="2025-03-12")
    assert jobs.emit_overdue(date(2025, 4, 2)) == 0  # due 2 April
    assert main(["referrals", "emit-overdue", "--today", "2025-04-03"]) == 0
    assert capsys.readouterr().out == "1\n"
    assert jobs.emit_overdue(date(2025, 5, 1)) == 0
    assert overdue_events(engine)[1:] == [("filing", "2025-04-02", "health")]
    assert referrals.get(referral["id"]).json()["overdue"] is True  # computed on read, today


def test_concurrent_runs_report_once(referrals, engine):
    for _ in range(3):
        r = referrals.create(on="2025-03-03")
        referrals.step(r["id"], "send", referrals.bureau, on="2025-03-03")
    counts = concurrently([lambda: jobs.emit_overdue(date(2025, 3, 11))] * 8)
    assert sum(counts) == 3
    assert len(overdue_events(engine)) == 3


def test_the_worker_runs_the_job():
    assert "referrals.overdue" in [job.name for job in registered_jobs()]


def test_a_bad_date_on_the_command_line_is_an_error():
    with pytest.raises(SystemExit) as raised:
        main(["referrals", "emit-overdue", "--today", "31/12/2025"])
    assert raised.value.code == 2
