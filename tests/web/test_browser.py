"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): log in, see a
failed run's graph and reason, run a query, be refused a zone. Screenshots go to tmp_path."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect, sync_playwright

from medalist.access import Users
from medalist.web.app import create_app
from tests.conftest import HEADER

CHROMIUM = os.environ.get("MEDALIST_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = [  # as root, in a closed network: no sandbox, no background calls home
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def dashboard(make_project):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no chromium at {CHROMIUM}: run `make test` (it installs Debian's chromium) or set "
            "MEDALIST_TEST_CHROMIUM",
            pytrace=False,
        )
    project = make_project(notifications=[])
    project.land("orders/2026-11-24.csv", HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n")
    project.land("orders/2026-11-25.csv", b"\x00not a csv at all")
    project.run()
    users = Users(project.pipeline)
    tokens = {role: users.add(role, role) for role in ("analyst", "engineer")}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(project.pipeline), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tokens
    server.should_exit = True
    thread.join(timeout=10)


def log_in(page: Page, base: str, token: str) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(base + "/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Overview")


def test_log_in_see_a_failed_run_query_and_be_refused(dashboard, tmp_path):
    base, tokens = dashboard
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()

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
        browser.close()

    assert {p.name for p in tmp_path.glob("*.png")} == {
        "overview.png",
        "failed-run.png",
        "query.png",
        "refused.png",
    }
