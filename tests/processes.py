"""The service as real processes for tests (uvicorn, the worker), against the test database.

They inherit the test run's settings (APP_DATABASE_URL and the rest, see tests/conftest.py);
``env`` adds to them. Output goes to a log file, shown when a test fails to start one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(args: list[str], log: Path, env: dict[str, str] | None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **(env or {})},
                                stdout=out, stderr=subprocess.STDOUT)


def start_api(log: Path, env: dict[str, str] | None = None, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """``uvicorn app.main:app`` on a free port (as in production); returns it once /healthz answers."""
    port = port or free_port()
    process = _spawn(["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)], log, env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"uvicorn did not start:\n{log.read_text()[-3000:]}")


def start_worker(log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m app worker``."""
    return _spawn(["-m", "app", "worker"], log, env)


def terminate(process: subprocess.Popen, timeout: float) -> int:
    """SIGTERM, then the exit code within ``timeout`` seconds (killed and failing after that)."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"still running {timeout} s after SIGTERM") from None
