"""Graceful shutdown of the API: on SIGTERM uvicorn stops taking connections, lets the requests in
flight finish, and exits. A real ``uvicorn app.main:app`` process, and a request held in flight
honestly: its body is sent only after the signal (the client waits for ``100 Continue``, which
the server sends once the application starts reading the body)."""

from __future__ import annotations

import json
import signal
import socket
import time

from sqlmodel import select

from app.kit.db import read_session
from app.scoring.models import ScoreCase
from tests.processes import start_api


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_a_request_in_flight_at_sigterm_is_answered_and_stored(scoring, tmp_path):
    code = scoring.register()
    body = json.dumps(scoring.case_body("shutdown-1", [
        {"practitioner": code, "violation_type": "SPLIT-CHARGING", "tier": "general"}])).encode()
    server, url = start_api(tmp_path / "api.log")
    port = int(url.rsplit(":", 1)[1])
    authorization = scoring.headers["Authorization"]

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((
            "POST /v1/score-cases HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Authorization: {authorization}\r\nExpect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")  # the application is reading the body

        server.send_signal(signal.SIGTERM)  # while the request is in flight
        deadline = time.monotonic() + 10
        while not _refuses_connections(port):  # new connections are refused from now on
            assert time.monotonic() < deadline, "the server still accepts connections after SIGTERM"
            time.sleep(0.05)
        assert server.poll() is None  # ... but it waits for the request in flight

        sock.sendall(body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]

    # Then it exits by itself: uvicorn re-raises the SIGTERM once its shutdown is complete, so the
    # exit status is the signal's, after the application's own shutdown (the lifespan) has run.
    assert server.wait(timeout=15) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (tmp_path / "api.log").read_text()
    with read_session() as session:
        assert len(session.exec(select(ScoreCase).where(ScoreCase.case_ref == "shutdown-1")).all()) == 1
