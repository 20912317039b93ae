"""One endpoint's failure never holds up another's deliveries.

A poison endpoint sits beside a healthy one (a real receiver on loopback). Whatever its delivery
attempts raise, each becomes a failed attempt of that delivery with its backoff, and the healthy
endpoint receives every one of its deliveries, in order, in the same rounds. The poison rows are
written straight into the database, as rows stored before today's validation would be.
"""

from __future__ import annotations

import random
import ssl
import threading
import time

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.kit.db import read_session
from app.webhooks import delivery, rules, transport, urlsafety
from app.webhooks.models import FAILED, PENDING, WebhookAttempt, WebhookDelivery
from tests.webhooks.conftest import emit, run

SUBJECTS = ("D150428000001", "D150428000002")
# Hours between rounds: each beyond the longest jittered delay of the retry schedule.
STEPS = (0.01, 0.2, 1, 3, 7, 13, 13)


def _poison_url(engine, endpoint_id: int, url: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE webhook_endpoints SET url = :url WHERE id = :id"), {"url": url, "id": endpoint_id})


def _poison_secret(engine, endpoint_id: int) -> None:
    # A secret sealed under a master that is gone (a botched key rotation): it cannot be opened.
    with engine.begin() as conn:
        conn.execute(text("UPDATE webhook_endpoints SET secret_sealed = 'not-a-sealed-secret' WHERE id = :id"),
                     {"id": endpoint_id})


def _raise_in_resolver(monkeypatch):
    real = urlsafety.resolve

    def resolve(host, port):
        if host == "poison.example.cn":
            raise RuntimeError("resolver crashed")
        return real(host, port)

    monkeypatch.setattr(urlsafety, "resolve", resolve)


def _raise_in_transport(exc: Exception):
    def patch(monkeypatch):
        monkeypatch.setattr(urlsafety, "resolve",
                            lambda host, port: ["93.184.216.34"] if host == "poison.example.cn" else ["127.0.0.1"])
        real = transport.PinnedTransport.handle_request

        def handle(self, request):
            if self.target.host == "poison.example.cn":
                raise exc
            return real(self, request)

        monkeypatch.setattr(transport.PinnedTransport, "handle_request", handle)
    return patch


def _unrecordable_answer(receiver, monkeypatch):
    # Whatever the reason an answer cannot be recorded, the attempt still is, without it.
    receiver.answer_always("/poison", 418)
    real = rules.classify

    def classify(status_code, headers, now):
        if status_code == 418:
            raise ValueError("cannot make sense of this answer")
        return real(status_code, headers, now)

    monkeypatch.setattr(rules, "classify", classify)


# name -> (how the poison endpoint is broken, given engine, endpoint id, receiver, monkeypatch)
POISONS = {
    "crlf in the url": lambda e, i, r, m: _poison_url(e, i, "https://8.8.8.8/\r\nx"),
    "tab in the url": lambda e, i, r, m: _poison_url(e, i, "https://8.8.8.8/\tx"),
    "c0 control in the url": lambda e, i, r, m: _poison_url(e, i, "https://8.8.8.8/\x01x"),
    "c1 control in the url": lambda e, i, r, m: _poison_url(e, i, "https://8.8.8.8/\x85x"),
    "port 0": lambda e, i, r, m: _poison_url(e, i, "https://8.8.8.8:0/x"),
    "not a url": lambda e, i, r, m: _poison_url(e, i, "https://[::1/x"),
    "resolver raises": lambda e, i, r, m: (_poison_url(e, i, "https://poison.example.cn/x"), _raise_in_resolver(m)),
    "tls error": lambda e, i, r, m: (_poison_url(e, i, "https://poison.example.cn/x"),
                                     _raise_in_transport(ssl.SSLError("handshake failed"))(m)),
    "unexpected exception": lambda e, i, r, m: (_poison_url(e, i, "https://poison.example.cn/x"),
                                                _raise_in_transport(RuntimeError("boom"))(m)),
    "secret cannot be opened": lambda e, i, r, m: _poison_secret(e, i),
    # A hostile receiver: NUL bytes in its answer (PostgreSQL text cannot hold them).
    "answer with NUL bytes": lambda e, i, r, m: r.answer_always("/poison", 500, body=b"bad\x00answer"),
    "answer that cannot be recorded": lambda e, i, r, m: _unrecordable_answer(r, m),
    "retry-after beyond any date": lambda e, i, r, m: r.answer_always(
        "/poison", 429, headers={"Retry-After": "9" * 20}),
    "retry-after in other digits": lambda e, i, r, m: r.answer_always(
        "/poison", 503, headers={"Retry-After": "\u00b2"}),
}


def _deliveries_of(endpoint_id: int) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    with read_session() as session:
        rows = session.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
                            .order_by(WebhookDelivery.id)).all()
        return [(d, list(session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == d.id)
                                      .order_by(WebhookAttempt.id)))) for d in rows]


def _round(now, stop: threading.Event | None):
    delivery.fan_out(now)
    if stop is None:
        return delivery.deliver_due(now, worker="test-worker", rng=random.Random(1))
    # The worker's own path: each call runs in a thread of its own so that a stop does not wait it out.
    return delivery.deliver_due(now, worker="test-worker", rng=random.Random(1), stop=stop)


@pytest.mark.parametrize("stoppable", [False, True], ids=["plain", "stoppable"])
@pytest.mark.parametrize("poison", sorted(POISONS))
def test_a_poison_endpoint_never_holds_up_a_healthy_one(engine, bureau, subscribe, receiver, clock, monkeypatch,
                                                        poison, stoppable):
    healthy = subscribe(bureau, "/healthy")
    bad = subscribe(bureau, "/poison")
    POISONS[poison](engine, bad["id"], receiver, monkeypatch)
    stop = threading.Event() if stoppable else None

    for n in range(6):
        emit(subject=SUBJECTS[n % 2], n=n)
    _round(clock.now, stop)
    # Every healthy delivery went out in the first round, in the order of its events.
    assert [r.message["data"]["n"] for r in receiver.at("/healthy")] == list(range(6))

    # The poison endpoint's deliveries are failed attempts with a reason, and wait for their backoff.
    first_round = _deliveries_of(bad["id"])
    tried = [(d, attempts) for d, attempts in first_round if attempts]
    assert len(tried) == len(SUBJECTS)  # the first of each subject; the others wait behind it
    for d, attempts in tried:
        assert d.status == PENDING and d.failures == 1 and d.locked_by is None
        assert d.next_attempt_at > clock.now
        (attempt,) = attempts
        assert (attempt.status_code is None and attempt.error) or attempt.status_code >= 400
        assert "\x00" not in (attempt.response_body or "") + (attempt.error or "")

    # More events while the poison endpoint keeps failing: still delivered at once, in order.
    for hours in STEPS:
        emit(subject=SUBJECTS[0], n=100 + int(hours * 10))
        _round(clock.advance(hours=hours), stop)
    assert [r.message["data"]["n"] for r in receiver.at("/healthy")] == list(range(6)) + [
        100 + int(h * 10) for h in STEPS]
    for got in receiver.at("/healthy"):
        got.verify(healthy["secret"])

    # Retried on the schedule and given up after the eighth attempt, like any other failure.
    after = _deliveries_of(bad["id"])
    first, attempts = after[0]
    gaps = [b.attempted_at - a.attempted_at for a, b in zip(attempts, attempts[1:])]
    assert all(gap >= rules.RETRY_SCHEDULE[n] * (1 - rules.JITTER) for n, gap in enumerate(gaps))
    if poison == "retry-after beyond any date":  # honoured up to its cap of a day
        assert len(attempts) == 2 and gaps[0] >= rules.MAX_RETRY_AFTER and first.status == PENDING
    else:
        assert first.status == FAILED and len(attempts) == 8
    assert all(a.error or a.status_code >= 400 for _d, attempts in after for a in attempts)
    assert all(d.locked_by is None for d, _attempts in after)


@pytest.mark.parametrize("event_types", ["not json", "5", '{"score.recorded": 1}', "[1, null]"])
def test_an_endpoint_with_unreadable_event_types_does_not_stop_the_fan_out(engine, bureau, subscribe, receiver,
                                                                           clock, event_types):
    subscribe(bureau, "/healthy")
    bad = subscribe(bureau, "/poison")
    with engine.begin() as conn:
        conn.execute(text("UPDATE webhook_endpoints SET event_types = :t WHERE id = :id"),
                     {"t": event_types, "id": bad["id"]})
    emit(n=1)
    run(clock.now)
    assert [r.message["data"]["n"] for r in receiver.at("/healthy")] == [1]
    assert receiver.at("/poison") == []


def test_a_failing_fan_out_does_not_stop_the_deliveries_already_queued(bureau, subscribe, receiver, monkeypatch):
    subscribe(bureau, "/healthy")
    emit(n=1)
    delivery.fan_out()

    def broken(_now=None, limit=0):
        raise RuntimeError("fan-out broke")

    monkeypatch.setattr(delivery, "fan_out", broken)
    assert delivery.run_once() == 1
    assert [r.message["data"]["n"] for r in receiver.at("/healthy")] == [1]


class Dripper:
    """A receiver that answers one byte at a time, each well within the read timeout, forever:
    without a deadline on the whole attempt it would hold the worker for hours."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.hostport = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.connections = 0
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nx-slow: ")
                for _ in range(600):  # 30 s
                    if self.closed.wait(0.05):
                        return
                    conn.sendall(b"a")
            except OSError:
                return  # the client gave up

    def close(self):
        self.closed.set()
        self.sock.close()


def test_an_answer_that_never_ends_is_cut_at_the_timeout(bureau, subscribe, receiver, clock, engine, monkeypatch):
    from app.settings import get_settings

    dripper = Dripper()
    try:
        monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", [receiver.hostport, dripper.hostport])
        subscribe(bureau, "/healthy")
        slow = subscribe(bureau, "/slow")
        _poison_url(engine, slow["id"], f"http://{dripper.hostport}/slow")
        for n in range(3):
            emit(subject=f"D15042800000{n}", n=n)
        delivery.fan_out(clock.now)
        started = time.monotonic()
        delivery.deliver_due(clock.now, worker="test-worker", rng=random.Random(1), timeout=0.5)
        assert time.monotonic() - started < 6  # three cut attempts, not three times 30 s
        assert sorted(r.message["data"]["n"] for r in receiver.at("/healthy")) == [0, 1, 2]
        tried = [(d, a) for d, a in _deliveries_of(slow["id"]) if a]
        assert len(tried) == 3 and dripper.connections == 3
        for d, (attempt,) in tried:
            assert d.status == PENDING and attempt.status_code is None and "0.5 s" in attempt.error
    finally:
        dripper.close()


def test_the_worker_process_keeps_delivering_beside_a_poison_endpoint(bureau, subscribe, receiver, engine, tmp_path):
    """The finding as reported: a real ``python -m app worker``, an endpoint stored with CR/LF in
    its URL, and a healthy endpoint that must still receive every event, in order."""
    import json

    from tests.processes import start_worker, terminate

    subscribe(bureau, "/healthy")
    bad = subscribe(bureau, "/poison")
    _poison_url(engine, bad["id"], "https://8.8.8.8/\r\nx")
    for n in range(5):
        emit(subject=SUBJECTS[0], n=n)
    worker = start_worker(tmp_path / "worker.log", {"APP_WEBHOOK_ALLOWED_HOSTS": json.dumps([receiver.hostport])})
    try:
        deadline = time.monotonic() + 20
        while len(receiver.at("/healthy")) < 5:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the healthy endpoint stopped receiving"
            time.sleep(0.05)
        while not any(a for _d, a in _deliveries_of(bad["id"])):
            assert time.monotonic() < deadline, "the poison delivery was never recorded"
            time.sleep(0.05)
    finally:
        assert terminate(worker, timeout=15) == 0
    assert [r.message["data"]["n"] for r in receiver.at("/healthy")] == list(range(5))
    first, attempts = _deliveries_of(bad["id"])[0]
    assert first.status == PENDING and "control characters" in attempts[0].error
