"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): log in, see a
failed run's graph and reason, run a query, be refused a zone. Screenshots go to tmp_path."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.browser import log_in

# one Chromium for the whole session: these tests share one xdist worker
pytestmark = pytest.mark.xdist_group("browser")


def test_log_in_see_a_failed_run_query_and_be_refused(served_site, browser, tmp_path):
    base, tokens = served_site.base, served_site.tokens
    with browser.new_context() as context:
        page = context.new_page()

        log_in(page, base, tokens["engineer"])
        page.screenshot(path=tmp_path / "overview.png", full_page=True)
        page.click("text=Runs")
        page.click("tr:has-text('FAILED') a")
        expect(page.locator("svg.workflow g[data-state=Crawl]")).to_have_class("state state-failed")
        expect(page.locator("svg.workflow g[data-state=Transform]")).to_have_class(
            "state state-not run"
        )
        expect(page.locator("#error")).to_contain_text("it is binary")
        expect(page.locator("button", has_text="Retry from Crawl")).to_be_visible()
        page.screenshot(path=tmp_path / "failed-run.png", full_page=True)

        page.click("text=Query")
        page.fill("textarea[name=sql]", "SELECT day, orders FROM gold.daily_sales")
        page.click("#run-query")
        expect(page.locator("#results")).to_contain_text("2026-11-24")
        page.screenshot(path=tmp_path / "query.png", full_page=True)

        page.click("text=Log out")
        log_in(page, base, tokens["analyst"])
        page.click("text=Query")
        page.fill("textarea[name=sql]", "SELECT * FROM silver.orders")
        page.click("#run-query")
        expect(page.locator("#query-error")).to_contain_text(
            "role analyst may not see the silver zone"
        )
        page.screenshot(path=tmp_path / "refused.png", full_page=True)

    assert {p.name for p in tmp_path.glob("*.png")} == {
        "overview.png",
        "failed-run.png",
        "query.png",
        "refused.png",
    }
