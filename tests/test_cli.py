import json
import subprocess
import sys

from app.auth import service as clients
from app.cli import main
from app.kit.db import write_session


def test_clients_create_prints_the_key_alone(api, capsys):
    assert main(["clients", "create", "--role", "partner", "--region", "150428",
                 "--department", "health", "--name", "喀喇沁旗卫健委"]) == 0
    out = capsys.readouterr().out
    key = out.strip()
    assert out == key + "\n" and key.startswith("pck_")
    # the printed key works against the API (a partner may read rulesets but not practitioners)
    assert api.get("/v1/practitioners", headers={"Authorization": f"Bearer {key}"}).status_code == 403


def test_clients_list_and_revoke(capsys):
    main(["clients", "create", "--role", "checker", "--region", "150400", "--name", "settlement"])
    capsys.readouterr()
    assert main(["clients", "list"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["role"], r["region"], r["revoked_at"]) for r in rows] == [("checker", "150400", None)]
    assert main(["clients", "revoke", str(rows[0]["id"])]) == 0
    with write_session() as session:
        assert clients.list_clients(session)[0].revoked_at is not None


def test_bad_client_is_a_clear_error(capsys):
    assert main(["clients", "create", "--role", "partner", "--region", "150428", "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert "department" in err and "Traceback" not in err
    assert main(["clients", "revoke", "424242"]) == 2


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "clients" in done.stdout


def _walk(parser):
    """Every (sub)parser with its argparse actions."""
    import argparse

    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _walk(sub)


def test_every_option_and_argument_has_help():
    from app.cli import build_parser

    missing = [f"{p.prog}: {a.dest}" for p in _walk(build_parser()) for a in p._actions
               if a.help is None and a.dest not in ("help",) and not a.dest.endswith("command")]
    assert missing == []


def test_version_comes_from_the_package_metadata(capsys):
    import importlib.metadata

    import pytest

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"practitioner-credit {importlib.metadata.version('practitioner-credit')}"


def test_usage_errors_exit_2(capsys):
    import pytest

    with pytest.raises(SystemExit) as done:
        main(["clients", "create", "--role", "nobody", "--region", "150428", "--name", "x"])
    assert done.value.code == 2


def _cli(tmp_path, *args, **env):
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    environ.update({"APP_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", **env})
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=environ,
                          cwd=tmp_path, timeout=120)


def test_an_unmigrated_database_is_one_line_and_exit_3(tmp_path):
    for command in (["clients", "list"], ["ledger", "verify"], ["calendar", "list"]):
        done = _cli(tmp_path, *command)
        assert done.returncode == 3, (command, done.stderr)
        assert done.stderr.strip().splitlines() == [
            "error: the database is not migrated: run `practitioner-credit migrate` (or `setup`) first"]
    assert _cli(tmp_path, "migrate").returncode == 0
    done = _cli(tmp_path, "clients", "list")
    assert (done.returncode, done.stdout) == (0, "")


def test_a_database_behind_this_release_is_exit_3(tmp_path):
    from app import migrate

    migrate.upgrade(f"sqlite:///{tmp_path / 'fresh.db'}", "0006")
    done = _cli(tmp_path, "clients", "list")
    assert done.returncode == 3
    assert "at revision 0006" in done.stderr and "Traceback" not in done.stderr


def test_worker_check_reads_the_heartbeat(tmp_path):
    import os
    import time

    from app import worker

    beat = tmp_path / "beat"
    env = {"APP_WORKER_HEARTBEAT_FILE": str(beat)}
    assert _cli(tmp_path, "worker", "check", **env).returncode == 1  # never beat (and no database needed)
    worker.beat(str(beat))
    assert _cli(tmp_path, "worker", "check", **env).returncode == 0
    beat.write_text(f"{time.time() - 400}\n")
    done = _cli(tmp_path, "worker", "check", **env)
    assert done.returncode == 1 and "last heartbeat was 4" in done.stderr
    assert _cli(tmp_path, "worker", "check", "--max-age", "600", **env).returncode == 0
    assert not os.path.exists(tmp_path / "fresh.db")


def _setup(cwd, db, env_extra=None):
    """``python -m app setup`` on a new development database, from ``cwd``, outside any virtualenv's
    PATH (as a newcomer's shell is after ``make run``)."""
    import os

    from tests.processes import ROOT

    env = {**os.environ, "APP_ENVIRONMENT": "development", "APP_DATABASE_URL": f"sqlite:///{db}",
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **(env_extra or {})}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run([sys.executable, "-m", "app", "setup"], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr, env


def test_the_setup_hints_work_outside_the_virtualenv(tmp_path):
    """The first run's hints name the interpreter that ran setup, not a bare ``python`` that has no
    dependencies outside the virtualenv, and the printed command makes a key."""
    import re

    err, env = _setup(tmp_path, tmp_path / "app.db")
    keys = re.search(r"More keys: (.+) clients create (.+)$", err, re.M)
    users = re.search(r"More users: (.+) users create ", err, re.M)
    assert keys and users, err
    assert keys.group(1) == users.group(1) == f"{sys.executable} -m app"
    made = subprocess.run(["bash", "-c", keys.group(0).removeprefix("More keys: ")], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert made.returncode == 0 and made.stdout.startswith("pck_"), made.stderr


def test_the_hint_is_relative_below_the_working_directory(tmp_path):
    """Run from the project (``make run``: ``.venv/bin/python -m app setup``) the hint is
    ``.venv/bin/python -m app``."""
    import re
    from pathlib import Path

    venv_bin = Path(sys.executable).parent
    err, _env = _setup(venv_bin.parent, tmp_path / "app.db")
    assert re.search(rf"More keys: {re.escape(venv_bin.name)}/{re.escape(Path(sys.executable).name)} -m app "
                     "clients create", err), err


def test_the_console_script_is_named_bare_only_when_the_shell_finds_it(tmp_path, monkeypatch):
    from app import cli

    script = tmp_path / ".venv" / "bin" / "practitioner-credit"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), "setup"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert cli.this_command() == ".venv/bin/practitioner-credit"
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    assert cli.this_command() == "practitioner-credit"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert cli.this_command() == str(script)
