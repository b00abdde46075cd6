"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): log in, see a
failed run's graph and reason, run a query, be refused a zone. Screenshots go to tmp_path."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from medalist.access import Users
from medalist.web.app import create_app
from tests.conftest import HEADER
from tests.web.browser import log_in, serve


@pytest.fixture
def dashboard(make_project):
    project = make_project(notifications=[])
    project.land("orders/2026-11-24.csv", HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n")
    project.land("orders/2026-11-25.csv", b"\x00not a csv at all")
    project.run()
    users = Users(project.pipeline)
    tokens = {role: users.add(role, role) for role in ("analyst", "engineer")}
    for base in serve(create_app(project.pipeline)):
        yield base, tokens


def test_log_in_see_a_failed_run_query_and_be_refused(dashboard, browser, tmp_path):
    base, tokens = dashboard
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
