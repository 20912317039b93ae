"""The notice page in a real browser: Debian's Chromium driven by Playwright."""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")


@pytest.fixture
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_searching_the_page_filters_the_rows(live_server, notice_world, browser):
    meta = notice_world.publish(contact="0476-1234567（赤峰市医疗保障局基金监管科）")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{live_server}/notices/{meta['id']}")
    assert page.locator("h1").inner_text() == meta["title"]
    assert page.locator("#sha256").inner_text() == meta["sha256"]
    rows = page.locator("#rows tbody tr")
    assert rows.count() == 3
    page.fill("#q", "李")  # the script filters while typing
    visible = [r.inner_text() for r in rows.all() if r.is_visible()]
    assert len(visible) == 1 and "李**" in visible[0]
    if os.environ.get("NOTICE_SCREENSHOT"):
        page.fill("#q", "")
        page.screenshot(path=os.environ["NOTICE_SCREENSHOT"], full_page=True)
    page.fill("#q", "赵")
    page.press("#q", "Enter")  # and the form asks the server, which works without scripts too
    page.wait_for_url("**q=*")
    assert [r.inner_text() for r in page.locator("#rows tbody tr").all()] == [
        page.locator("#rows tbody tr").first.inner_text()]
    assert "赵**" in page.locator("#rows tbody tr").first.inner_text()
    page.close()
