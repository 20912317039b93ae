"""Several workers, the worker job and the delivery thread inside the API process."""

import time
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import worker
from app.kit.db import get_engine, is_sqlite, read_session
from app.settings import get_settings
from app.shared import events
from app.webhooks import delivery
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.conftest import concurrently
from tests.webhooks.conftest import emit

postgres_only = pytest.mark.skipif(
    is_sqlite(get_engine()), reason="SQLite has a single writer: concurrent claiming is a PostgreSQL question")


@postgres_only
def test_workers_on_postgresql_share_the_work_and_never_send_an_attempt_twice(bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    for n in range(40):
        emit(subject=f"D1504280{n:05d}", n=n)
    delivery.fan_out(clock.now)
    handled = concurrently([
        lambda i=i: delivery.deliver_due(clock.now, worker=f"worker-{i}") for i in range(6)
    ])
    assert sum(handled) == 40
    ids = Counter(r.id for r in receiver.requests)
    assert len(ids) == 40 and set(ids.values()) == {1}
    with read_session() as session:
        attempts = session.exec(select(WebhookAttempt)).all()
        assert len(attempts) == 40 and len({a.delivery_id for a in attempts}) == 40
        assert len({a.worker for a in attempts}) > 1  # the work was shared
        assert {d.status for d in session.exec(select(WebhookDelivery))} == {"succeeded"}
    assert all(r.verify(endpoint["secret"]) for r in receiver.requests)


@postgres_only
def test_concurrent_fan_outs_create_each_delivery_once(bureau, subscribe, clock):
    subscribe(bureau)
    for n in range(30):
        emit(subject=f"D1504280{n:05d}")
    concurrently([lambda: delivery.fan_out(clock.now) for _ in range(4)])
    with read_session() as session:
        assert len(session.exec(select(WebhookDelivery)).all()) == 30


@postgres_only
def test_an_event_committed_after_a_later_one_is_not_skipped(bureau, subscribe, receiver, clock):
    """Ids are handed out in one order and committed in another: a plain high-water mark
    would pass the slow transaction's event for good."""
    subscribe(bureau)
    slow = Session(get_engine())
    early = events.emit(slow, "score.recorded", subject="D150428000001", region="150428", data={"n": 1})
    slow.flush()  # takes the lower id, not committed yet
    emit(subject="D150428000002", n=2)
    delivery.fan_out(clock.now)
    slow.commit()
    assert early.id is not None
    delivery.fan_out(clock.advance(seconds=1))
    delivery.deliver_due(clock.now)
    slow.close()
    assert sorted(r.message["data"]["n"] for r in receiver.requests) == [1, 2]


def test_the_worker_runs_the_webhook_job():
    jobs = {job.name: job for job in worker.registered_jobs()}
    assert jobs["webhooks"].run is delivery.run_once


@pytest.mark.skipif(not is_sqlite(get_engine()), reason="the API delivers by itself only on SQLite")
def test_on_sqlite_the_api_process_delivers_by_itself(bureau, subscribe, receiver, monkeypatch):
    from app.main import create_app

    endpoint = subscribe(bureau)
    monkeypatch.setattr(get_settings(), "webhook_embedded_worker", True)
    with TestClient(create_app()):
        emit()
        deadline = time.monotonic() + 10
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
    threads = [t.name for t in __import__("threading").enumerate()]
    assert "embedded-worker" not in threads  # stopped with the app
    (got,) = receiver.requests
    got.verify(endpoint["secret"])
