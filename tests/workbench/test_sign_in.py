"""Signing in and out: passwords, the session cookie, CSRF, the back-off after failures."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.audit.models import AuditRecord
from app.kit import timeutil
from app.kit.db import read_session, write_session
from app.settings import get_settings
from app.workbench import rules, service
from app.workbench.models import WorkbenchSession
from tests.workbench.conftest import PASSWORD, csrf_of


@pytest.fixture
def now(monkeypatch):
    """A clock the test moves by hand: ``now.advance(seconds=31)``."""

    class Clock:
        instant = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)

        def advance(self, **delta):
            self.instant += timedelta(**delta)

    clock = Clock()
    monkeypatch.setattr(timeutil, "utcnow", lambda: clock.instant)
    return clock


def test_sign_in_sets_a_hardened_cookie_whose_token_is_stored_only_hashed(browser, make_user):
    user = make_user()
    b = browser()
    response = b.sign_in(user.name, next_="/workbench/referrals?status=sent")
    assert response.status_code == 303 and response.headers["location"] == "/workbench/referrals?status=sent"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("wb_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/workbench" in cookie
    assert "Secure" not in cookie  # plain http here; see the TLS test below
    token = cookie.split(";")[0].split("=", 1)[1]
    with read_session() as session:
        stored = session.exec(select(WorkbenchSession).where(WorkbenchSession.user_id == user.id)).one()
    assert stored.token_hash == rules.hash_token(token) != token
    assert b.get("/workbench/inbox").status_code == 200
    with read_session() as session:
        assert session.exec(select(AuditRecord.action).where(AuditRecord.principal == f"user:{user.id}")).all() == [
            "workbench_user.sign_in"]


def test_over_tls_the_cookie_is_secure(browser, make_user):
    user = make_user()
    response = browser(base_url="https://testserver").sign_in(user.name)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("wb_session="))
    assert "Secure" in cookie


def test_pages_need_a_session_and_come_back_after_signing_in(browser, make_user):
    b = browser()
    response = b.get("/workbench/referrals", params={"status": "sent"})
    assert response.status_code == 303
    assert response.headers["location"] == "/workbench/login?next=%2Fworkbench%2Freferrals%3Fstatus%3Dsent"


def test_sign_in_never_redirects_off_the_workbench(browser, make_user):
    user = make_user()
    for target in ("https://evil.example/", "//evil.example/workbench/", "/v1/referrals"):
        assert browser().sign_in(user.name, next_=target).headers["location"] == "/workbench/"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(browser, make_user):
    user = make_user()
    b = browser()
    wrong = b.sign_in(user.name, password="not the password")
    unknown = b.sign_in("nobody-by-this-name", password=PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401 and "用户名或密码错误" in response.text
        assert not any(c.startswith("wb_session=") for c in response.headers.get_list("set-cookie"))
    with read_session() as session:
        assert session.exec(select(AuditRecord.action).where(AuditRecord.principal == f"user:{user.id}")).all() == [
            "workbench_user.sign_in_failed"]


def test_repeated_failures_lock_the_name_for_a_growing_delay(browser, make_user, now):
    settings = get_settings()
    user = make_user()
    b = browser()
    for _ in range(settings.workbench_lockout_after):
        assert b.sign_in(user.name, password="guess-guess-guess").status_code == 401
    locked = b.sign_in(user.name)  # even the right password is not heard while locked
    assert locked.status_code == 429 and locked.headers["retry-after"] == str(settings.workbench_lockout_seconds)
    assert f"请在 {settings.workbench_lockout_seconds} 秒后再试" in locked.text

    now.advance(seconds=settings.workbench_lockout_seconds + 1)
    assert b.sign_in(user.name, password="guess-guess-guess").status_code == 401  # one more failure ...
    locked = b.sign_in(user.name)
    assert locked.headers["retry-after"] == str(2 * settings.workbench_lockout_seconds)  # ... doubles the lock

    now.advance(seconds=2 * settings.workbench_lockout_seconds + 1)
    assert b.sign_in(user.name).status_code == 303  # the right password after the lock
    b = browser()
    for _ in range(settings.workbench_lockout_after - 1):  # and the count starts afresh
        assert b.sign_in(user.name, password="guess-guess-guess").status_code == 401
    assert b.sign_in(user.name).status_code == 303


def test_names_that_do_not_exist_lock_the_same_way(browser, now):
    b = browser()
    for _ in range(get_settings().workbench_lockout_after):
        assert b.sign_in("no-such-user", password="guess-guess-guess").status_code == 401
    assert b.sign_in("no-such-user", password="guess-guess-guess").status_code == 429


def test_failures_from_one_address_lock_it_whatever_the_name(browser, make_user, now, monkeypatch):
    monkeypatch.setattr(get_settings(), "workbench_address_lockout_after", 3)
    user = make_user()
    b = browser()
    for i in range(3):
        assert b.sign_in(f"sprayed-name-{i}", password="guess-guess-guess").status_code == 401
    assert b.sign_in(user.name).status_code == 429  # the test client's address is locked
    # A quiet period forgets old failures.
    now.advance(minutes=get_settings().workbench_failure_window_minutes, seconds=get_settings().workbench_lockout_seconds)
    assert b.sign_in(user.name).status_code == 303


def test_the_sign_in_form_carries_its_own_csrf_token(browser, make_user):
    user = make_user()
    b = browser()
    b.get("/workbench/login")  # sets the form's token cookie
    forged = b.client.post("/workbench/login", data={"name": user.name, "password": PASSWORD,
                                                     "csrf_token": "made-up"})
    assert forged.status_code == 403 and "请求被拒绝" in forged.text
    other = browser()  # a page of another browser gives a token that does not match this one's cookie
    token = csrf_of(other.get("/workbench/login").text)
    assert b.client.post("/workbench/login", data={"name": user.name, "password": PASSWORD,
                                                   "csrf_token": token}).status_code == 403


def test_signing_out_ends_the_session_on_the_server(browser, make_user):
    b = browser(make_user())
    cookie = b.client.cookies.get("wb_session")
    refused = b.client.post("/workbench/logout", data={})  # no CSRF token: refused
    assert refused.status_code == 403 and b.get("/workbench/inbox").status_code == 200
    response = b.submit("/workbench/inbox", "/workbench/logout", {})
    assert response.status_code == 303 and response.headers["location"] == "/workbench/login?signed_out=1"
    # The old cookie, replayed, opens nothing.
    replay = browser()
    replay.client.cookies.set("wb_session", cookie, path="/workbench")
    assert replay.get("/workbench/inbox").status_code == 303


def test_sessions_end_when_idle_when_too_old_and_when_the_user_is_disabled(browser, make_user, now):
    settings = get_settings()
    user = make_user()
    b = browser(user)
    now.advance(minutes=settings.workbench_session_idle_minutes - 1)
    assert b.get("/workbench/inbox").status_code == 200  # a request keeps it alive ...
    now.advance(minutes=settings.workbench_session_idle_minutes - 1)
    assert b.get("/workbench/inbox").status_code == 200
    now.advance(minutes=settings.workbench_session_idle_minutes)
    assert b.get("/workbench/inbox").status_code == 303  # ... but not a long pause

    b = browser(user)
    step = settings.workbench_session_idle_minutes - 1
    for _ in range(settings.workbench_session_max_hours * 60 // step):
        now.advance(minutes=step)
        assert b.get("/workbench/inbox").status_code == 200
    now.advance(minutes=step)
    assert b.get("/workbench/inbox").status_code == 303  # however busy, it ends after the maximum

    b = browser(user)
    with write_session() as session:
        service.disable_user(session, user.id)
    assert b.get("/workbench/inbox").status_code == 303
    assert browser().sign_in(user.name).status_code == 401


def test_the_back_off_rule():
    backoff = rules.Backoff(lock_after=3, first_lock=timedelta(seconds=30), longest_lock=timedelta(minutes=5),
                            forget_after=timedelta(minutes=15))
    assert [backoff.lock_for(n) for n in range(1, 9)] == [
        None, None, timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240),
        timedelta(minutes=5), timedelta(minutes=5)]
    t = datetime(2025, 6, 16, tzinfo=UTC)
    assert backoff.counts_from(4, t, None, t + timedelta(minutes=14)) == 4
    assert backoff.counts_from(4, t, None, t + timedelta(minutes=15)) == 0
    # A quiet period counts from the end of the lock, so a long lock does not wipe its own count.
    assert backoff.counts_from(9, t, t + timedelta(hours=1), t + timedelta(hours=1, minutes=5)) == 9


def test_the_password_policy():
    assert rules.password_problem("short") is not None
    assert rules.password_problem(" leading space x") is not None
    assert rules.password_problem("long enough pass") is None
    generated = {rules.new_password() for _ in range(20)}
    assert len(generated) == 20 and all(rules.password_problem(p) is None for p in generated)


def test_a_sign_in_token_planted_in_the_cookie_is_refused(browser, make_user):
    """A double-submit token the client chose (a cookie set from a sibling site) is not enough: the
    token must carry the server's signature."""
    user = make_user()
    b = browser()
    planted = "attacker-chosen-token"
    b.client.cookies.set("wb_sign_in", planted, path="/workbench")
    response = b.client.post("/workbench/login", data={"name": user.name, "password": PASSWORD, "csrf_token": planted})
    assert response.status_code == 403
    assert not any(c.startswith("wb_session=") for c in response.headers.get_list("set-cookie"))


def test_in_production_cookies_are_secure_and_pages_send_hsts(browser, make_user, monkeypatch):
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "environment", "production")
    page = browser().client.get("/workbench/login")  # plain http, as a proxy may forward it
    cookie = next(c for c in page.headers.get_list("set-cookie") if c.startswith("wb_sign_in="))
    assert "Secure" in cookie
    assert page.headers["strict-transport-security"].startswith("max-age=")
    user = make_user()
    response = browser(base_url="https://testserver").sign_in(user.name)
    assert "Secure" in next(c for c in response.headers.get_list("set-cookie") if c.startswith("wb_session="))
