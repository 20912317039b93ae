"""Every workbench form that changes something leaves an audit record naming the person and the
request, as the API's writes name their client (tests/audit/test_audit.py)."""

import re

import pytest
from sqlmodel import select

from app.audit.models import AuditRecord
from app.kit.db import read_session
from app.main import app as the_app
from tests.auth.test_matrix import route_table
from tests.workbench.conftest import PASSWORD, csrf_of

WRITES = sorted((m, p) for m, p in route_table(the_app) if p.startswith("/workbench/") and m == "POST")


def _records(request_id: str) -> list[AuditRecord]:
    with read_session() as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.request_id == request_id)))


@pytest.mark.parametrize("route", WRITES, ids=lambda r: f"{r[0]} {r[1]}")
def test_every_workbench_form_is_audited_with_the_user(browser, make_user, referrals, clock, route):
    clock.set("2025-12-20")
    bureau = make_user("bureau", "150428", None)
    b = browser() if route[1] == "/workbench/login" else browser(bureau)
    sent = referrals.create(on="2025-12-19")
    referrals.step(sent["id"], "send", referrals.bureau, on="2025-12-19")
    page = b.get("/workbench/login" if route[1] == "/workbench/login" else "/workbench/stats")
    form = {"csrf_token": csrf_of(page.text)}
    path = route[1].replace("{referral_id}", str(sent["id"]))
    form.update({
        "/workbench/login": {"name": bureau.name, "password": PASSWORD},
        "/workbench/logout": {},
        "/workbench/referrals": {"department": "health", "clue_category": "other", "region": "150428",
                                 "summary": "线索", "institutions": "H15042800001", "send_now": "1"},
        "/workbench/referrals/{referral_id}/events": {"action": "remind", "reason": "请尽快签收"},
        "/workbench/notices": {"year": "2025", "region": "150428", "follows_revision": "0"},
    }[route[1]])
    request_id = "wb-" + re.sub(r"\W", "-", route[1])[:40]
    response = b.client.post(path, data=form, headers={"X-Request-ID": request_id})
    assert response.status_code == 303, response.text
    mine = _records(request_id)
    assert mine, f"{route} changed something without an audit record"
    assert {(r.principal, r.actor_name, r.role, r.actor_region) for r in mine} == {
        (f"user:{bureau.id}", bureau.name, "bureau", "150428")}
