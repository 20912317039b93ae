"""A worker told to stop (SIGTERM) finishes the webhook call in flight within its grace period,
or releases the claim so that another worker sends it at once: a real ``python -m app worker``
against a real receiver on loopback."""

from __future__ import annotations

import json
import time

from sqlmodel import select

from app.kit.db import read_session
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.processes import start_worker, terminate
from tests.webhooks.conftest import emit, run


def _allow(receiver) -> dict[str, str]:
    return {"APP_WEBHOOK_ALLOWED_HOSTS": json.dumps([receiver.hostport])}


def _wait_for_request(receiver, process, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not receiver.requests:
        assert process.poll() is None, "the worker exited"
        assert time.monotonic() < deadline, "the worker sent nothing"
        time.sleep(0.05)


def _delivery_and_attempts(endpoint_id: int) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    with read_session() as session:
        (delivery,) = session.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)).all()
        attempts = session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)).all()
        return delivery, list(attempts)


def test_a_call_that_outlasts_the_grace_period_is_released_for_the_next_worker(bureau, subscribe, receiver,
                                                                                tmp_path):
    endpoint = subscribe(bureau)
    receiver.answer("/hook", 200, sleep=30)  # the first call hangs far beyond the grace period
    emit(points=3)
    worker = start_worker(tmp_path / "worker.log", {**_allow(receiver), "APP_WORKER_SHUTDOWN_GRACE_SECONDS": "1"})
    _wait_for_request(receiver, worker)

    stopping = time.monotonic()
    assert terminate(worker, timeout=15) == 0
    assert time.monotonic() - stopping < 6  # the grace period, not the 15 s webhook timeout

    delivery, attempts = _delivery_and_attempts(endpoint["id"])
    assert delivery.status == "pending" and delivery.locked_by is None and delivery.locked_until is None
    assert attempts == [] and delivery.failures == 0  # given back, not counted as a failure

    assert run() == 1  # the next worker takes it now, not when the 60 s lease would have run out
    first, second = receiver.requests
    assert second.id == first.id  # the same webhook-id: the receiver de-duplicates
    delivery, attempts = _delivery_and_attempts(endpoint["id"])
    assert delivery.status == "succeeded" and [a.status_code for a in attempts] == [200]


def test_a_call_that_ends_within_the_grace_period_is_finished_and_recorded(bureau, subscribe, receiver, tmp_path):
    endpoint = subscribe(bureau)
    receiver.answer("/hook", 200, sleep=1.5)
    emit(points=3)
    worker = start_worker(tmp_path / "worker.log", {**_allow(receiver), "APP_WORKER_SHUTDOWN_GRACE_SECONDS": "10"})
    _wait_for_request(receiver, worker)

    stopping = time.monotonic()
    assert terminate(worker, timeout=15) == 0
    assert time.monotonic() - stopping < 10

    delivery, attempts = _delivery_and_attempts(endpoint["id"])
    assert delivery.status == "succeeded" and delivery.locked_by is None
    assert [a.status_code for a in attempts] == [200]
    assert len(receiver.requests) == 1
