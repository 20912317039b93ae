"""Simulations as background jobs: claims shared by workers, a dead worker's run taken over, a
failing run, the worker's job list, and the command line that runs one at once."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import text

from app.cli import main
from app.kit.timeutil import utcnow
from app.simulations import replay
from app.simulations import service as simulations
from app.worker import registered_jobs
from tests.conftest import concurrently
from tests.simulations.conftest import INNER_MONGOLIA, LOWER_SUSPENSION, A, B, edited


def queue(api, headers, n=1) -> list[int]:
    ids = []
    for _ in range(n):
        response = api.post("/v1/rulesets/simulations", json={"draft": LOWER_SUSPENSION, "region": "150428",
                                                               "year": 2025}, headers=headers)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def state(engine, simulation_id):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT state, attempts, locked_by, error FROM ruleset_simulations "
                                 f"WHERE id = {simulation_id}")).one()


def report_rows(engine, simulation_id):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM ruleset_simulation_rows WHERE simulation_id = {simulation_id}"
                                 )).scalar_one()


def test_the_worker_runs_simulations():
    assert "simulations" in {job.name for job in registered_jobs()}


def test_concurrent_workers_claim_different_simulations(ledger, api):
    ids = queue(api, ledger.headers, 3)
    claimed = concurrently([lambda n=n: simulations.claim(worker=f"w{n}") for n in range(4)])
    taken = [c[0] for c in claimed if c is not None]
    assert sorted(taken) == ids  # each once; the fourth worker found nothing
    assert len({c[1] for c in claimed if c is not None}) == 3


def test_a_dead_workers_run_is_taken_over_and_the_first_worker_stops_writing(ledger, api, engine):
    [simulation_id] = queue(api, ledger.headers)
    first = simulations.claim(worker="first")
    # The first worker died (its lease lapsed without renewal): another takes the run over.
    later = utcnow() + simulations.LEASE + timedelta(seconds=1)
    second = simulations.claim(later, worker="second")
    assert second[0] == simulation_id and state(engine, simulation_id)[:2] == ("running", 2)
    simulations.execute(*first)  # it was only slow: its first write finds the lease gone
    assert state(engine, simulation_id)[0] == "running" and report_rows(engine, simulation_id) == 0
    simulations.execute(*second)
    assert state(engine, simulation_id)[0] == "done" and report_rows(engine, simulation_id) == 6


def test_a_run_that_keeps_dying_is_failed_after_three_attempts(ledger, api, engine):
    [simulation_id] = queue(api, ledger.headers)
    now = utcnow()
    for attempt in range(simulations.MAX_ATTEMPTS):
        assert simulations.claim(now, worker=f"w{attempt}")[0] == simulation_id
        now += simulations.LEASE + timedelta(seconds=1)
    assert simulations.claim(now, worker="last") is None
    run = state(engine, simulation_id)
    assert (run.state, run.attempts, run.locked_by) == ("failed", 3, None)
    assert "3 interrupted attempts" in run.error


def test_a_failing_replay_fails_the_simulation_and_keeps_no_partial_report(ledger, api, engine, monkeypatch):
    [simulation_id] = queue(api, ledger.headers)
    original, calls = replay.replay, []

    def breaks_on_the_fourth(person, plan):
        calls.append(person.code)
        if len(calls) == 4:
            raise ZeroDivisionError("boom")
        return original(person, plan)

    monkeypatch.setattr(simulations, "FLUSH_PEOPLE", 2)
    monkeypatch.setattr(replay, "replay", breaks_on_the_fourth)
    assert simulations.run_next() == 1
    run = state(engine, simulation_id)
    assert run.state == "failed" and "ZeroDivisionError" in run.error and "boom" not in run.error
    assert report_rows(engine, simulation_id) == 0  # the two people written before are gone
    shown = api.get(f"/v1/rulesets/simulations/{simulation_id}", headers=ledger.headers).json()
    assert shown["state"] == "failed" and shown["error"] == run.error
    assert api.get(shown["links"]["json"], headers=ledger.headers).status_code == 409


def test_the_command_line_runs_a_simulation_at_once(ledger, tmp_path, capsys):
    draft, out = tmp_path / "draft.toml", tmp_path / "report.csv"
    draft.write_text(LOWER_SUSPENSION, encoding="utf-8")
    assert main(["rulesets", "simulate", "--draft", str(draft), "--region", "150428", "--year", "2025",
                 "--csv", str(out)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "done" and shown["summary"]["changes"]["stricter"] == 2
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = {r[1]: r for r in csv.reader(io.StringIO(raw.decode("utf-8-sig")))}
    assert rows[A][10] == rows[B][10] == "从严"  # full codes at the console


def test_the_command_line_names_the_bad_field(ledger, tmp_path, capsys):
    draft = tmp_path / "draft.toml"
    draft.write_text(edited(INNER_MONGOLIA, ("suspension = 9\n", "suspension = 0\n")), encoding="utf-8")
    assert main(["rulesets", "simulate", "--draft", str(draft), "--region", "150428", "--year", "2025"]) == 2
    err = capsys.readouterr().err
    assert "draft.toml: thresholds.suspension: must be above 0" in err and "Traceback" not in err
    draft.write_text(LOWER_SUSPENSION, encoding="utf-8")
    assert main(["rulesets", "simulate", "--draft", str(draft), "--region", "999999", "--year", "2025"]) == 2
    assert "error: region:" in capsys.readouterr().err
