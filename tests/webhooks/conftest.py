from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from app.kit.db import write_session
from app.kit.timeutil import utcnow
from app.settings import get_settings
from app.shared import events
from app.webhooks import delivery


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def verify(self, secret: str) -> dict:
        return Webhook(secret).verify(self.body, self.headers)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def message(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """A real HTTP server on loopback that records every request and answers as scripted:
    ``answer("/a", 500)``, ``answer("/a", 429, headers={"Retry-After": "120"})``,
    ``answer("/a", 200, sleep=1.0)``; unscripted requests get 200."""

    def __init__(self):
        self.requests: list[Received] = []
        self.scripts: dict[str, deque] = defaultdict(deque)
        self.always: dict[str, tuple] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    script = receiver.scripts[self.path]
                    status, headers, payload, sleep = (
                        script.popleft() if script else receiver.always.get(self.path, (200, {}, b"ok", 0)))
                if sleep:
                    time.sleep(sleep)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.hostport = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.hostport}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def answer(self, path, status, *, headers=None, body=b"", sleep=0.0, times=1):
        for _ in range(times):
            self.scripts[path].append((status, headers or {}, body, sleep))

    def answer_always(self, path, status, *, headers=None, body=b""):
        self.always[path] = (status, headers or {}, body, 0)

    def at(self, path) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch):
    """The receiver, its host and port allowed: production refuses loopback (and plain http)
    unless listed, and a listing names the port."""
    r = Receiver()
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", [r.hostport])
    yield r
    r.close()


@pytest.fixture
def clock():
    """A clock the tests move by hand: ``clock.now``, ``clock.advance(seconds=...)``."""

    class Clock:
        now = utcnow()

        def advance(self, **kw):
            self.now = self.now + timedelta(**kw)
            return self.now

    return Clock()


@pytest.fixture
def subscribe(api, receiver):
    """subscribe(headers, path, event_types) -> the created endpoint's JSON (with its secret)."""

    def make(headers, path="/hook", event_types=("score.recorded",), **fields):
        response = api.post("/v1/webhook-endpoints", headers=headers,
                            json={"url": receiver.url + path, "event_types": list(event_types), **fields})
        assert response.status_code == 201, response.text
        return response.json()

    return make


def emit(type_="score.recorded", subject="D150428000123", region="150428", department=None, **data) -> int:
    with write_session() as session:
        event = events.emit(session, type_, subject=subject, region=region, department=department,
                            data=data or {"practitioner": subject})
        session.commit()
        return event.id


def run(now=None, *, worker="test-worker", timeout=None) -> int:
    """One worker round at ``now``: fan out, then deliver what is due."""
    delivery.fan_out(now)
    return delivery.deliver_due(now, worker=worker, rng=random.Random(1), timeout=timeout)
