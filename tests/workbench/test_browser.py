"""The workbench in a real browser (Debian's Chromium driven by Playwright): a partner receives,
files and concludes a referral; the bureau then sees the outcome and the year's figures.

``WORKBENCH_SCREENSHOTS=docs`` also writes the two screenshots of docs/workbench.md into that folder.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.referrals.conftest import referral_body
from tests.workbench.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")


@pytest.fixture
def chromium():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--lang=zh-CN"])
        yield browser
        browser.close()


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("WORKBENCH_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _sign_in(page, base: str, name: str) -> None:
    """By keyboard: the name, Tab to the password, Enter to send."""
    page.goto(f"{base}/workbench/inbox")
    assert "/workbench/login" in page.url
    page.fill("#name", name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/workbench/inbox")


def test_partner_concludes_and_bureau_sees_outcome_and_figures(live_server, chromium, make_user, make_key, api,
                                                               clock):
    clock.set("2025-06-16")
    bureau_key = make_key("bureau", "150428", name="喀喇沁旗医疗保障局")
    health_key = make_key("partner", "150428", "health", name="喀喇沁旗卫生健康委员会")

    def sent(on, summary, **fields):
        response = api.post("/v1/referrals", json=referral_body(on=on, summary=summary, **fields), headers=bureau_key)
        assert response.status_code == 201, response.text
        referral_id = response.json()["id"]
        step = api.post(f"/v1/referrals/{referral_id}/events", json={"type": "send", "on": on}, headers=bureau_key)
        assert step.status_code == 201, step.text
        return step.json()

    # The banner's bureau has sent four clues to its health commission.
    mine = sent("2025-06-13", "某诊所疑似医师挂证，执业地点与注册地点不符")
    late = sent("2025-05-13", "某药店药师长期不在岗", practitioners=["D150428000124"])
    under_way = sent("2025-06-03", "某卫生院疑似分解住院")
    assert api.post(f"/v1/referrals/{under_way['id']}/events", json={"type": "receive", "on": "2025-06-04"},
                    headers=health_key).status_code == 201
    sent("2025-06-09", "某医院疑似过度检查", clue_category="medical_conduct")
    partner = make_user("partner", "150428", "health", name="喀喇沁旗卫健委-李华")
    bureau = make_user("bureau", "150428", None, name="喀喇沁旗医保局-王芳")

    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    _sign_in(page, live_server, partner.name)
    assert "喀喇沁旗卫健委-李华" in page.locator("#who").inner_text()
    rows = page.locator("#inbox tbody tr")
    assert rows.count() == 4
    assert f"#{late['id']}" in rows.first.inner_text() and "已逾期" in rows.first.inner_text()
    _screenshot(page, "workbench-inbox.png")

    page.click(f"#inbox a[href='/workbench/referrals/{mine['id']}']")
    page.click("#do-receive")
    assert page.locator("#done").inner_text() == "已签收。"
    assert page.locator("#status").inner_text() == "已签收"
    _screenshot(page, "workbench-referral.png")
    page.click("#do-file")
    assert page.locator("#status").inner_text() == "已立案"

    assert not page.locator("#fine_amount").is_visible()  # shown with its penalty kind (script)
    page.check("#pk-warning")
    page.check("#pk-fine")
    page.fill("#fine_amount", "5000.00")
    page.fill("#decision_number", "喀卫罚〔2025〕7号")
    page.fill("#decision_date", "2025-06-16")
    page.click("#do-conclude")
    assert page.locator("#status").inner_text() == "已结案"
    history = page.locator("#history").inner_text()
    assert history.count("喀喇沁旗卫健委-李华") == 3 and "罚款" in history
    page.click("text=退出登录")
    page.wait_for_url(re.compile(r".*/workbench/login\?signed_out=1$"))

    _sign_in(page, live_server, bureau.name)
    page.goto(f"{live_server}/workbench/referrals/{mine['id']}")
    assert page.locator("#status").inner_text() == "已结案"
    facts = page.locator("#steps-h").locator("..").inner_text()
    assert "办结" in facts  # the bureau, as sender, may now close it
    outcome = page.locator("text=处理结果").first.locator("..").inner_text()
    assert "警告" in outcome and "罚款" in outcome and "5000.00 元" in outcome

    page.click("text=年度统计与公示")
    health = page.locator("#stats tr[data-department='health'][data-direction='outbound'] td")
    cells = [health.nth(i).inner_text() for i in range(health.count())]
    # direction, sent, received, filed, not filed, with penalty, without, pending, overdue, ..., fines
    assert cells[1:9] == ["4", "2", "1", "0", "1", "0", "3", "1"] and cells[11] == "5000.00"
    assert "向卫生健康委员会移送问题线索 4 条（1 条给予行政处罚" in page.locator("#report").inner_text()
    page.close()
