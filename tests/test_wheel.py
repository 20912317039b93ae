"""The wheel as an operator gets it: built from the checkout, installed with its locked
dependencies into a new virtual environment outside the checkout, and run from a directory that
holds nothing of the project. Set-up migrates, the server answers /readyz, the ledger verifies.

Slow the first time (about two minutes: pip installs requirements/runtime.txt into a new
environment); that environment is kept in the temp directory, keyed by the lock's hash and the
Python version, so later runs only build and install the wheel (--force-reinstall). Needs what
`make install` needs: PyPI or pip's cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# Pure or database-independent: the PostgreSQL pass of CI skips this module (conftest.py).
pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent


def _clean_env() -> dict:
    """An operator's shell: none of the test run's APP_ settings, and no PYTHONPATH naming the
    checkout (pip would take its egg-info for the installed project, python its app/ for the wheel's)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "PYTHON"))}


def _run(cmd, **kw):
    kw.setdefault("env", _clean_env())
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)
    assert done.returncode == 0, f"{cmd}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """(venv bin directory, wheel path): the wheel and the runtime lock in a new environment."""
    base = tmp_path_factory.mktemp("wheel")
    # Build from a copy holding only what the Dockerfile copies, so nothing else in the checkout
    # (build/, *.egg-info, a stray file) can leak into the wheel, and the checkout stays clean.
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("app", "migrations"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(base / "dist"), str(src)])
    wheel = next((base / "dist").glob("practitioner_credit-*.whl"))

    venv = _locked_venv()
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)])
    _run([str(python), "-m", "pip", "check"])
    return venv / "bin", wheel


def _locked_venv() -> Path:
    """A virtual environment outside the checkout with exactly requirements/runtime.txt in it."""
    lock = (ROOT / "requirements" / "runtime.txt").read_bytes()
    key = hashlib.sha256(lock + sys.version.encode()).hexdigest()[:16]
    venv = Path(tempfile.gettempdir()) / f"practitioner-credit-wheel-venv-{key}"
    if (venv / ".complete").exists():
        return venv
    # Built where it will live (a venv's scripts name their own path), then marked complete.
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps",
          "-r", str(ROOT / "requirements" / "runtime.txt")], timeout=900)
    (venv / ".complete").touch()
    return venv


def _env(workdir: Path, **extra) -> dict:
    env = _clean_env()
    env.update({"APP_DATABASE_URL": f"sqlite:///{workdir / 'app.db'}", "HOME": str(workdir), **extra})
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_wheel_carries_the_migrations_and_the_command(installed):
    _bin, wheel = installed
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "migrations/env.py" in names and "migrations/script.py.mako" in names
    assert any(n.startswith("migrations/versions/0001_") for n in names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "practitioner-credit = app.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_sets_up_serves_and_verifies(installed, tmp_path):
    bin_, _wheel = installed
    cli = str(bin_ / "practitioner-credit")
    work = tmp_path / "work"
    work.mkdir()
    env = _env(work)

    # the code runs from the environment, not from the checkout
    where = _run([str(bin_ / "python"), "-c", "import app, migrations; print(app.__file__); print(migrations.__file__)"],
                 cwd=work, env=env).stdout
    assert str(ROOT) not in where and all(line.startswith(str(bin_.parent)) for line in where.split())

    assert _run([cli, "--version"], cwd=work, env=env).stdout.strip().startswith("practitioner-credit ")
    not_migrated = subprocess.run([cli, "clients", "list"], cwd=work, env=env, capture_output=True, text=True)
    assert not_migrated.returncode == 3 and "not migrated" in not_migrated.stderr

    _run([cli, "setup"], cwd=work, env=env)  # migrations from the wheel, no alembic.ini anywhere

    keys = dict(line.split("=", 1) for line in _run([cli, "ledger", "keygen"], cwd=work, env=env).stdout.split())
    env.update({k: v.strip("'") for k, v in keys.items()})

    port = _free_port()
    server = subprocess.Popen([str(bin_ / "uvicorn"), "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
                              cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        status, deadline = None, time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    status = response.status
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert status == 200, server.stderr.read().decode() if server.poll() is not None else "no answer in 30 s"
    finally:
        server.terminate()
        server.wait(30)

    # a checkpoint signed with the key just made, then verified against its public key: exit 0
    _run([cli, "ledger", "checkpoint"], cwd=work, env=env)
    verify = subprocess.run([cli, "ledger", "verify"], cwd=work, env=env, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # without any key the ledger cannot be verified: exit 2 (app/cli.py)
    del env["APP_LEDGER_SIGNING_KEY"], env["APP_LEDGER_PUBLIC_KEYS"]
    assert subprocess.run([cli, "ledger", "verify"], cwd=work, env=env, capture_output=True).returncode == 2
    assert {p.name.split("-")[0] for p in work.iterdir()} == {"app.db"}  # nothing else written where it ran
