"""Who may open which workbench page: the API's role and scope rules, applied to people.

The routes come from the application's route table, so a page added without a rule here fails
``test_every_workbench_route_has_a_rule``. Anonymous browsers are sent to the sign-in page; a
role the rule does not list gets 403; an object outside the user's region or department is a
404, exactly as the API answers.
"""

import pytest

from app.main import app as the_app
from tests.auth.test_matrix import route_table
from tests.conftest import practitioner_body
from tests.workbench.conftest import csrf_of

PUBLIC, SIGNED_IN = "public", "signed in"
BOTH, BUREAU = frozenset({"bureau", "partner"}), frozenset({"bureau"})

RULES = {
    ("GET", "/workbench/login"): PUBLIC,
    ("POST", "/workbench/login"): PUBLIC,
    ("POST", "/workbench/logout"): SIGNED_IN,
    ("GET", "/workbench/"): SIGNED_IN,
    ("GET", "/workbench/inbox"): BOTH,
    ("GET", "/workbench/referrals"): BOTH,
    ("GET", "/workbench/referrals/new"): BOTH,
    ("POST", "/workbench/referrals"): BOTH,
    ("GET", "/workbench/referrals/{referral_id}"): BOTH,
    ("GET", "/workbench/referrals/{referral_id}/print"): BOTH,
    ("POST", "/workbench/referrals/{referral_id}/events"): BOTH,
    ("GET", "/workbench/practitioners"): BUREAU,
    ("GET", "/workbench/practitioners/{code}"): BUREAU,
    ("GET", "/workbench/stats"): BUREAU,
    ("POST", "/workbench/notices"): BUREAU,
}


def workbench_routes() -> set[tuple[str, str]]:
    return {(m, p) for m, p in route_table(the_app) if p.startswith("/workbench/")}


def test_every_workbench_route_has_a_rule():
    assert workbench_routes() == set(RULES)


@pytest.mark.parametrize("route", sorted(RULES), ids=lambda r: f"{r[0]} {r[1]}")
def test_without_a_session_every_page_goes_to_sign_in(browser, route):
    method, path = route
    path = path.replace("{referral_id}", "1").replace("{code}", "D150428000123")
    response = browser().client.request(method, path, data={} if method == "POST" else None)
    if RULES[route] == PUBLIC:
        assert response.status_code in (200, 403)  # the form, or a post without its token refused
        return
    assert response.status_code == 303 and response.headers["location"].startswith("/workbench/login?next=")


@pytest.mark.parametrize("path", ["/workbench/practitioners", "/workbench/practitioners/D150428000123",
                                  "/workbench/stats"])
def test_a_partner_may_not_open_the_bureaus_pages(browser, make_user, path):
    response = browser(make_user("partner", "150428", "health")).get(path)
    assert response.status_code == 403 and "无权操作" in response.text


def test_a_partner_may_not_publish(browser, make_user):
    b = browser(make_user("partner", "150428", "health"))
    response = b.submit("/workbench/inbox", "/workbench/notices", {"year": "2025", "region": "150428",
                                                                   "follows_revision": "0"})
    assert response.status_code == 403


@pytest.fixture
def referral(referrals, clock):
    clock.set("2025-06-16")
    created = referrals.create(on="2025-06-13")
    return referrals.step(created["id"], "send", referrals.bureau, on="2025-06-13")


@pytest.mark.parametrize("outsider", [("partner", "150428", "market_regulation"), ("partner", "150402", "health"),
                                      ("bureau", "120000", None)],
                         ids=["another department", "another county", "another province's bureau"])
def test_a_referral_outside_the_users_scope_is_not_found(browser, make_user, referral, referrals, outsider):
    insider = browser(make_user("partner", "150400", "health"))  # the city level sees the county's
    assert insider.get(f"/workbench/referrals/{referral['id']}").status_code == 200
    b = browser(make_user(*outsider))
    for path in (f"/workbench/referrals/{referral['id']}", f"/workbench/referrals/{referral['id']}/print"):
        response = b.get(path)
        assert response.status_code == 404 and "不在您的辖区与职责范围内" in response.text
        assert referral["summary"] not in response.text
    response = b.submit("/workbench/inbox", f"/workbench/referrals/{referral['id']}/events", {"action": "receive"})
    assert response.status_code == 404
    assert referrals.get(referral["id"]).json()["status"] == "sent"
    assert f'/workbench/referrals/{referral["id"]}"' not in b.get("/workbench/referrals").text
    assert f'/workbench/referrals/{referral["id"]}"' not in b.get("/workbench/inbox").text


def test_a_draft_is_its_senders_alone(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    draft = referrals.create(on="2025-06-13")
    assert browser(make_user("partner", "150428", "health")).get(f"/workbench/referrals/{draft['id']}").status_code == 404
    assert browser(make_user("bureau", "150428", None)).get(f"/workbench/referrals/{draft['id']}").status_code == 200


def test_practitioners_and_figures_outside_the_bureaus_region(browser, make_user, register, clock):
    clock.set("2025-06-16")
    register("D150428000123", registered_on="2020-01-01")
    assert browser(make_user("bureau", "150400", None)).get("/workbench/practitioners/D150428000123").status_code == 200
    b = browser(make_user("bureau", "120000", None))
    response = b.get("/workbench/practitioners/D150428000123")
    assert response.status_code == 404 and practitioner_body()["name"] not in response.text
    stats = b.get("/workbench/stats", params={"region": "150428", "year": "2025"})
    assert stats.status_code == 422 and "不在您的辖区 120000 内" in stats.text
    page = b.get("/workbench/stats")
    response = b.client.post("/workbench/notices", data={
        "csrf_token": csrf_of(page.text), "year": "2025", "region": "150428", "follows_revision": "0"})
    assert response.status_code == 404


def test_a_form_without_the_sessions_token_is_refused(browser, make_user, referral, referrals):
    user = make_user()
    b, other = browser(user), browser(make_user())
    for data in ({"action": "receive"}, {"action": "receive", "csrf_token": "forged"},
                 {"action": "receive", "csrf_token": csrf_of(other.get("/workbench/inbox").text)}):
        response = b.client.post(f"/workbench/referrals/{referral['id']}/events", data=data)
        assert response.status_code == 403 and "CSRF" in response.text
    assert referrals.get(referral["id"]).json()["status"] == "sent"
    # The same user's other session has its own token too.
    second = browser(user)
    response = b.client.post(f"/workbench/referrals/{referral['id']}/events", data={
        "action": "receive", "csrf_token": csrf_of(second.get("/workbench/inbox").text)})
    assert response.status_code == 403
