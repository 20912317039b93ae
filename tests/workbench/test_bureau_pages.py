"""The bureau's pages: a practitioner's standing and dossier, the year's figures, the notice."""

import re

from sqlmodel import select

from app.audit.models import AuditRecord
from app.kit.db import read_session
from app.notices.models import Notice
from tests.shared_fixtures import violation_with
from tests.workbench.conftest import csrf_of

CODE = "D150428000123"


def _cells(html: str, department: str, direction: str) -> list[str]:
    row = re.search(rf'<tr data-department="{department}" data-direction="{direction}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {department} {direction}"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row.group(1), re.S)]


def test_practitioner_look_up_shows_standing_points_and_dossier(browser, make_user, scoring, clock):
    clock.set("2025-06-16")
    scoring.register("inner-mongolia-2025", code=CODE, registered_on="2020-01-01")
    ruleset = "inner-mongolia-2025"
    scoring.score(CODE, "赤医保罚〔2025〕12号", "2025-03-10", 5, violation=violation_with(5, ruleset), ruleset=ruleset)
    scoring.score(CODE, "赤医保协〔2025〕31号", "2025-06-02", 4, violation=violation_with(4, ruleset), ruleset=ruleset)
    b = browser(make_user("bureau", "150400", None))

    lookup = b.get("/workbench/practitioners", params={"code": CODE.lower()})
    assert lookup.status_code == 303 and lookup.headers["location"] == f"/workbench/practitioners/{CODE}"
    page = b.get(lookup.headers["location"])
    assert page.status_code == 200
    standing = scoring.standing(CODE, "2025-06-16")
    assert standing["status"] == "suspended" and standing["points"] == 9
    assert '<dd id="year-points">9 分</dd>' in page.text
    assert "<strong>暂停</strong>：医保基金不予结算（急诊、抢救除外）" in page.text
    assert f"{standing['suspended_from']} 至 {standing['suspended_until']}" in page.text
    assert "赤医保罚〔2025〕12号" in page.text and "赤医保协〔2025〕31号" in page.text  # the ledger
    assert re.search(r'id="person-referrals".*?卫生健康委员会', page.text, re.S)  # the joint-sanction notice

    bad = b.get("/workbench/practitioners", params={"code": "X12"})
    assert bad.status_code == 422 and "编码格式不正确" in bad.text
    assert b.get("/workbench/practitioners/D150428000999").status_code == 404


def test_the_figures_page_agrees_with_the_api_after_an_outcome(browser, make_user, referrals, api, clock):
    clock.set("2025-06-16")
    concluded = referrals.create(on="2025-06-02")
    referrals.step(concluded["id"], "send", referrals.bureau, on="2025-06-02")
    for step in ("receive", "file"):
        referrals.step(concluded["id"], step, referrals.health, on="2025-06-03")
    referrals.step(concluded["id"], "conclude", referrals.health, outcome={
        "penalty_kinds": ["fine"], "fine_amount": "5000.00", "decision_number": "喀卫罚〔2025〕1号",
        "decision_date": "2025-06-16"})
    pending = referrals.create(on="2025-06-02", recipient="market_regulation", clue_category="pricing")
    referrals.step(pending["id"], "send", referrals.bureau, on="2025-06-02")

    page = browser(make_user("bureau", "150428", None)).get("/workbench/stats", params={"year": "2025"})
    assert page.status_code == 200
    api_rows = {(r["department"], r["direction"]): r for r in api.get(
        "/v1/referrals/stats", params={"year": 2025}, headers=referrals.bureau).json()["rows"]}
    for department in ("health", "market_regulation"):
        cells, row = _cells(page.text, department, "outbound"), api_rows[(department, "outbound")]
        figures = ["sent", "received", "filed", "not_filed", "concluded_with_penalty", "concluded_without_penalty",
                   "pending", "overdue", "returned", "withdrawn"]
        assert cells[2:12] == [str(row[f]) for f in figures]
        assert cells[12] == row["fine_amount"]
    assert _cells(page.text, "health", "outbound")[6] == "1" and _cells(page.text, "health", "outbound")[12] == "5000.00"
    assert "向卫生健康委员会移送问题线索 1 条（1 条给予行政处罚" in page.text
    assert "向市场监督管理局移送问题线索 1 条（0 条给予行政处罚，0 条结案未予处罚，0 条不予立案，1 条正在办理" in page.text


def test_publishing_the_notice_from_the_button_publishes_once(browser, make_user, clock):
    clock.set("2025-12-20")
    user = make_user("bureau", "150428", None, name="喀喇沁旗医保局-王")
    b = browser(user)
    page = b.get("/workbench/stats", params={"year": "2025"})
    assert "尚未发布公示" in page.text and 'name="follows_revision" value="0"' in page.text
    form = {"csrf_token": csrf_of(page.text), "year": "2025", "region": "150428", "follows_revision": "0",
            "contact": "0476-1234567"}
    response = b.client.post("/workbench/notices", data=form)
    assert response.status_code == 303
    published = b.get(response.headers["location"])
    assert 'id="published"' in published.text and "第 1 版" in published.text
    again = b.client.post("/workbench/notices", data=form)  # the same form once more
    assert again.status_code == 409 and 'id="publish-problem"' in again.text
    with read_session() as session:
        notices = session.exec(select(Notice)).all()
        audited = session.exec(select(AuditRecord).where(AuditRecord.action == "notice.publish")).all()
    assert [(n.revision, n.user_id, n.client_id, n.issued_by, n.contact) for n in notices] == [
        (1, user.id, None, "喀喇沁旗医疗保障局", "0476-1234567")]
    assert [(a.principal, a.actor_name) for a in audited] == [(f"user:{user.id}", "喀喇沁旗医保局-王")]
    # A correction is a deliberate second publication from a page that shows the first.
    page = b.get("/workbench/stats", params={"year": "2025"})
    assert 'name="follows_revision" value="1"' in page.text
    response = b.client.post("/workbench/notices", data={**form, "follows_revision": "1"})
    assert response.status_code == 303 and "第 2 版" in b.get(response.headers["location"]).text


def test_a_bad_notice_form_is_shown_with_the_reason(browser, make_user, clock):
    clock.set("2025-12-20")
    b = browser(make_user("bureau", "150428", None))
    page = b.get("/workbench/stats")
    response = b.client.post("/workbench/notices", data={"csrf_token": csrf_of(page.text), "year": "2025",
                                                         "region": "150428", "as_of": "2026-01-05"})
    assert response.status_code == 422 and "应在 2025-01-01 与今天之间" in response.text
