import logging
import threading

from app.worker import Job, run_forever


def test_jobs_run_until_stopped_and_a_failing_job_does_not_stop_the_others():
    stop = threading.Event()
    calls = {"busy": 0, "broken": 0}

    def busy(_stop):
        calls["busy"] += 1
        if calls["busy"] >= 5:
            stop.set()
        return 1  # found work: run again at once

    def broken(_stop):
        calls["broken"] += 1
        raise RuntimeError("boom")

    thread = threading.Thread(target=run_forever, args=([Job("busy", 60, busy), Job("broken", 60, broken)], stop))
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert calls == {"busy": 5, "broken": 1}  # the broken one waits its interval


def test_the_worker_logs_json_lines_with_keys_and_id_numbers_masked(monkeypatch, capsys):
    import json as json_

    from app import worker
    from app.cli import main as cli

    def main():
        logging.getLogger("app.worker").warning("delivery to key pck_SECRETSECRET for 150428198001010014 failed")
        return 0

    monkeypatch.setattr(worker, "main", main)
    assert cli(["worker"]) == 0
    [line] = [json_.loads(x) for x in capsys.readouterr().err.splitlines() if "delivery to key" in x]
    assert line["logger"] == "app.worker" and line["level"] == "WARNING"
    assert line["message"] == "delivery to key pck_*** for [ID number] failed"


def test_the_worker_beats_every_round(tmp_path):
    import threading
    import time

    from app.worker import heartbeat_age

    beat = tmp_path / "beat"
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=([Job("idle", 60, lambda _stop: 0)], stop),
                              kwargs={"idle_seconds": 0.05, "heartbeat": str(beat)})
    thread.start()
    deadline = time.monotonic() + 5
    while not beat.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert 0 <= heartbeat_age(str(beat)) < 5
    assert heartbeat_age(str(tmp_path / "none")) is None
