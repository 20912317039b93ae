"""Referral pages: the inbox, the steps through plain forms, and what a refused step shows."""

import re

from sqlmodel import select

from app.audit.models import AuditRecord
from app.kit.db import read_session
from app.referrals.models import Referral, ReferralEvent
from tests.workbench.conftest import csrf_of

OUTCOME = {"penalty_kinds": ["warning", "fine"], "fine_amount": "5000.00",
           "decision_number": "喀卫罚〔2025〕7号", "decision_date": "2025-06-16"}


def _sent(referrals, on, **fields):
    created = referrals.create(on=on, **fields)
    return referrals.step(created["id"], "send", referrals.bureau, on=on)


def _status(referral_id):
    with read_session() as session:
        return session.get(Referral, referral_id).status


def _history(referral_id):
    with read_session() as session:
        return session.exec(select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)
                            .order_by(ReferralEvent.seq)).all()


def test_inbox_lists_what_is_addressed_to_the_department_overdue_first(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    later = _sent(referrals, "2025-06-13")  # receipt due 2025-06-20
    overdue = _sent(referrals, "2025-05-13")  # receipt was due 2025-05-20
    received = _sent(referrals, "2025-06-03")
    referrals.step(received["id"], "receive", referrals.health, on="2025-06-04")  # filing due in July
    soon = _sent(referrals, "2025-06-09")  # receipt due 2025-06-16, today
    other_department = _sent(referrals, "2025-05-13", recipient="market_regulation")
    done = _sent(referrals, "2025-06-03")
    referrals.step(done["id"], "return", referrals.health, on="2025-06-04")

    page = browser(make_user("partner", "150428", "health")).get("/workbench/inbox")
    assert page.status_code == 200
    shown = [int(i) for i in re.findall(r'<td><a href="/workbench/referrals/(\d+)">', page.text)]
    assert shown == [overdue["id"], soon["id"], later["id"], received["id"]]
    rows = page.text.split("<tr")
    overdue_row = next(r for r in rows if f'/workbench/referrals/{overdue["id"]}"' in r)
    assert "is-overdue" in overdue_row and "已逾期" in overdue_row and "2025-05-20" in overdue_row
    assert other_department["id"] not in shown and done["id"] not in shown

    listed = browser(make_user("bureau", "150400", None)).get("/workbench/referrals", params={"overdue": "true"})
    assert [int(i) for i in re.findall(r'<td><a href="/workbench/referrals/(\d+)">', listed.text)] == [
        overdue["id"], other_department["id"]]


def test_a_partner_receives_files_and_concludes_through_the_forms(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    referral = _sent(referrals, "2025-06-13")
    user = make_user("partner", "150428", "health", name="喀喇沁旗卫健委-李华")
    b = browser(user)
    page = b.get(f"/workbench/referrals/{referral['id']}")
    assert 'id="form-receive"' in page.text and 'id="form-return"' in page.text
    assert 'id="form-file"' not in page.text  # only the steps allowed now are offered

    for action, fields in (("receive", {}), ("file", {}), ("conclude", OUTCOME)):
        response = b.step(referral["id"], action, **fields)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"/workbench/referrals/{referral['id']}?done={action}"
    page = b.get(f"/workbench/referrals/{referral['id']}?done=conclude")
    assert '<dd id="status">已结案</dd>' in page.text and "5000.00 元" in page.text and "已提交结案反馈" in page.text
    assert "喀喇沁旗卫健委-李华" in page.text  # the history names who took each step

    steps = _history(referral["id"])[-3:]
    assert [(s.action, s.user_id, s.client_id) for s in steps] == [
        ("receive", user.id, None), ("file", user.id, None), ("conclude", user.id, None)]
    with read_session() as session:
        audited = session.exec(select(AuditRecord.action).where(AuditRecord.principal == f"user:{user.id}",
                                                                AuditRecord.object == f"referral:{referral['id']}")
                               .order_by(AuditRecord.id)).all()
    assert audited == ["referral.receive", "referral.file", "referral.conclude"]
    # The API reports the same steps, naming the person.
    api_view = referrals.get(referral["id"]).json()
    assert api_view["status"] == "concluded" and api_view["history"][-1]["user_id"] == user.id


def test_an_illegal_step_shows_the_services_message_on_the_page(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    referral = _sent(referrals, "2025-06-13")
    b = browser(make_user("partner", "150428", "health"))
    page = b.get(f"/workbench/referrals/{referral['id']}")
    # A hand-made form (or an old page) asks to file a referral nobody has received yet.
    response = b.client.post(f"/workbench/referrals/{referral['id']}/events",
                             data={"action": "file", "csrf_token": csrf_of(page.text)})
    assert response.status_code == 409
    assert 'id="illegal"' in response.text
    assert "当前状态为「已移送」，不能「立案」" in response.text and "您现在可以：签收、退回" in response.text
    # The service's own message, in Chinese like the rest of the page (app/kit/messages.py).
    assert f"移送 {referral['id']} 当前状态为 sent：不允许 &#39;file&#39;；允许的操作：receive、return" in response.text
    assert 'id="form-receive"' in response.text  # the page is the referral page, with what is allowed
    assert _status(referral["id"]) == "sent"


def test_a_step_that_lost_a_race_shows_the_message_and_acts_once(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    referral = _sent(referrals, "2025-06-13")
    first, second = browser(make_user()), browser(make_user())
    stale = second.get(f"/workbench/referrals/{referral['id']}")  # both have the page open
    assert first.step(referral["id"], "receive").status_code == 303
    after = re.search(r'id="form-receive".*?name="after_step" value="(\d+)"', stale.text, re.S).group(1)
    response = second.client.post(f"/workbench/referrals/{referral['id']}/events", data={
        "action": "receive", "after_step": after, "csrf_token": csrf_of(stale.text)})
    assert response.status_code == 409 and 'id="illegal"' in response.text
    assert "当前状态为「已签收」，不能「签收」" in response.text
    assert [s.action for s in _history(referral["id"])].count("receive") == 1


def test_a_form_sent_twice_acts_once(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    referral = _sent(referrals, "2025-06-13")
    b = browser(make_user("bureau", "150428", None))
    page = b.get(f"/workbench/referrals/{referral['id']}")
    form = {"action": "remind", "reason": "请尽快签收", "csrf_token": csrf_of(page.text),
            "after_step": re.search(r'id="form-remind".*?name="after_step" value="(\d+)"', page.text, re.S).group(1)}
    assert b.client.post(f"/workbench/referrals/{referral['id']}/events", data=form).status_code == 303
    again = b.client.post(f"/workbench/referrals/{referral['id']}/events", data=form)
    assert again.status_code == 409 and 'id="stale"' in again.text
    assert [s.action for s in _history(referral["id"])].count("remind") == 1


def test_a_refused_value_is_shown_beside_the_form_and_nothing_changes(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    referral = _sent(referrals, "2025-06-13")
    b = browser(make_user())
    assert b.step(referral["id"], "receive").status_code == 303
    response = b.step(referral["id"], "decline", reason="  ")
    assert response.status_code == 422 and "&#39;decline&#39; 须填写理由" in response.text
    assert b.step(referral["id"], "file").status_code == 303
    response = b.step(referral["id"], "conclude", **{**OUTCOME, "fine_amount": ""})
    assert response.status_code == 422
    assert "fine 须填写金额" in response.text and 'value="喀卫罚〔2025〕7号"' in response.text  # kept
    response = b.step(referral["id"], "conclude", **{**OUTCOME, "decision_date": "16/06/2025"})
    assert response.status_code == 422 and "日期格式应为 YYYY-MM-DD" in response.text
    assert _status(referral["id"]) == "filed"


def test_sending_a_referral_from_the_form_twice_makes_one(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    user = make_user("bureau", "150428", None)
    b = browser(user)
    page = b.get("/workbench/referrals/new")
    form = {"csrf_token": csrf_of(page.text),
            "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1),
            "department": "market_regulation", "clue_category": "pricing", "region": "150428",
            "summary": "某药店串换药品", "institutions": "P15042800003\nH15042800001", "send_now": "1"}
    first = b.client.post("/workbench/referrals", data=form)
    again = b.client.post("/workbench/referrals", data=form)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    referral_id = int(re.search(r"/referrals/(\d+)", first.headers["location"]).group(1))
    with read_session() as session:
        stored = session.exec(select(Referral).where(Referral.sender_user_id == user.id)).all()
    assert [(r.id, r.status, r.department, r.sender_client_id) for r in stored] == [
        (referral_id, "sent", "market_regulation", None)]

    # A partner sends the other way, to the bureau, and the bureau's inbox has it.
    partner = browser(make_user("partner", "150428", "health"))
    page = partner.get("/workbench/referrals/new")
    response = partner.client.post("/workbench/referrals", data={
        "csrf_token": csrf_of(page.text), "clue_category": "unlicensed_practice", "region": "150428",
        "summary": "村卫生室疑似超范围执业", "practitioners": "D150428000123", "send_now": "1"})
    assert response.status_code == 303
    inbound_id = int(re.search(r"/referrals/(\d+)", response.headers["location"]).group(1))
    assert f'/workbench/referrals/{inbound_id}"' in b.get("/workbench/inbox").text


def test_a_bad_new_referral_keeps_what_was_typed_and_names_the_fields(browser, make_user, clock):
    clock.set("2025-06-16")
    b = browser(make_user("partner", "150428", "health"))
    page = b.get("/workbench/referrals/new")
    response = b.client.post("/workbench/referrals", data={
        "csrf_token": csrf_of(page.text), "clue_category": "pricing", "region": "150402",
        "summary": "摘要", "institutions": "H15040200002", "send_now": "1"})
    assert response.status_code == 422
    assert "不在您的辖区 150428 内" in response.text  # the service's rule, not the page's
    assert "health 受理的线索类别为：" in response.text and 'value="150402"' in response.text
    with read_session() as session:
        assert session.exec(select(Referral)).all() == []


def test_print_view_has_the_referral_and_its_history_without_forms(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    referral = _sent(referrals, "2025-06-13")
    page = browser(make_user()).get(f"/workbench/referrals/{referral['id']}/print")
    assert page.status_code == 200
    assert f"问题线索移送单 #{referral['id']}" in page.text and 'id="history"' in page.text
    assert "<form" not in page.text


def test_what_people_typed_is_shown_as_text_never_as_markup(browser, make_user, referrals, clock):
    clock.set("2025-06-16")
    referral = _sent(referrals, "2025-06-13", summary='<script>alert("x")</script>某诊所')
    page = browser(make_user()).get(f"/workbench/referrals/{referral['id']}")
    assert '<script>alert("x")</script>' not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;某诊所" in page.text
    # and the pages tell the browser not to keep them, frame them or run anything from elsewhere
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_a_provisional_deadline_is_marked_on_the_pages(browser, make_user, referrals, clock):
    clock.set("2026-12-28")
    referral = _sent(referrals, "2026-12-28")  # receipt due 4 January 2027, counted with weekends only
    user = browser(make_user("partner", "150428", "health"))
    inbox = user.get("/workbench/inbox")
    row = next(r for r in inbox.text.split("<tr") if f'/workbench/referrals/{referral["id"]}"' in r)
    assert "2027-01-04" in row and "暂按周末计算" in row
    printed = user.get(f"/workbench/referrals/{referral['id']}/print")
    assert "2027-01-04（暂按周末计算）" in printed.text
    clock.set("2025-06-16")
    settled = _sent(referrals, "2025-06-13")
    assert "暂按周末计算" not in user.get(f"/workbench/referrals/{settled['id']}").text
