"""``python -m app users ...`` and the development users ``make run`` creates."""

import io
import json
import re
import sys

import pytest
from sqlmodel import select

from app.audit.models import AuditRecord
from app.cli import main
from app.kit.db import read_session
from app.settings import get_settings
from app.workbench import service as users

CREATE = ["users", "create", "--role", "partner", "--region", "150428", "--department", "health",
          "--name", "喀喇沁旗卫健委-李"]


@pytest.fixture
def stdin(monkeypatch):
    """Feed the command's standard input (a pipe, not a terminal)."""

    def feed(text: str):
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))

    return feed


def test_create_with_a_piped_password_prints_no_secret(capsys, stdin, browser):
    stdin("a long piped password\n")
    assert main(CREATE) == 0
    out, err = capsys.readouterr()
    assert out == "" and "created workbench user" in err
    assert browser().sign_in("喀喇沁旗卫健委-李", password="a long piped password").status_code == 303
    with read_session() as session:
        audited = session.exec(select(AuditRecord).where(AuditRecord.action == "workbench_user.create")).one()
    assert audited.principal == "system:0" and audited.actor_name.startswith("cli:")


def test_create_generates_a_password_shown_once_alone_on_stdout(capsys, stdin, browser):
    stdin("")
    assert main(CREATE) == 0
    password = capsys.readouterr().out
    assert re.fullmatch(r"[A-Za-z2-9]{20}\n", password)
    assert browser().sign_in("喀喇沁旗卫健委-李", password=password.strip()).status_code == 303
    with read_session() as session:
        assert password.strip() not in users.list_users(session)[0].password_hash


@pytest.mark.parametrize("argv, needle", [
    (CREATE, "at least 12 characters"),
    (["users", "create", "--role", "partner", "--region", "150428", "--name", "x"], "department"),
    (["users", "create", "--role", "bureau", "--region", "999999", "--name", "x"], "region"),
])
def test_bad_users_are_clear_errors_and_store_nothing(capsys, stdin, argv, needle):
    stdin("too short\n")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    with read_session() as session:
        assert users.list_users(session) == []


def test_only_bureau_and_partner_staff_get_users(capsys):
    with pytest.raises(SystemExit):
        main(["users", "create", "--role", "checker", "--region", "150428", "--name", "x", "--generate-password"])


def test_a_name_is_taken_once(capsys):
    assert main([*CREATE, "--generate-password"]) == 0
    assert main([*CREATE, "--generate-password"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_list_disable_and_set_password(capsys, stdin, browser, monkeypatch):
    assert main([*CREATE, "--generate-password"]) == 0
    password = capsys.readouterr().out.strip()
    assert main(["users", "list"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["name"], row["role"], row["department"], row["disabled_at"]) == (
        "喀喇沁旗卫健委-李", "partner", "health", None)
    assert "password" not in json.dumps(row)

    # Locked out by failures, then given a new password by an operator: the lock lifts.
    b = browser()
    for _ in range(get_settings().workbench_lockout_after):
        b.sign_in(row["name"], password="wrong wrong wrong")
    assert b.sign_in(row["name"], password=password).status_code == 429
    stdin("the operator's new one\n")
    assert main(["users", "set-password", str(row["id"])]) == 0
    assert browser().sign_in(row["name"], password=password).status_code == 401
    signed_in = browser()
    assert signed_in.sign_in(row["name"], password="the operator's new one").status_code == 303

    assert main(["users", "disable", str(row["id"])]) == 0
    assert signed_in.get("/workbench/inbox").status_code == 303  # the session ended with the account
    assert browser().sign_in(row["name"], password="the operator's new one").status_code == 401
    assert main(["users", "disable", "424242"]) == 2


def test_setup_creates_development_users_and_says_how_to_sign_in(capsys, browser, monkeypatch):
    monkeypatch.setattr(get_settings(), "environment", "development")
    assert main(["setup", "--port", "8123"]) == 0
    err = capsys.readouterr().err
    assert "http://127.0.0.1:8123/workbench/" in err
    accounts = dict(re.findall(r"^\s+(dev-\S+)\s+(\S+)\s+\(", err, re.M))
    assert set(accounts) == {"dev-bureau", "dev-health"}
    for name, password in accounts.items():
        assert browser().sign_in(name, password=password).status_code == 303
    assert main(["setup"]) == 0  # a second run creates nobody and shows no password
    assert "dev-bureau" not in capsys.readouterr().err
