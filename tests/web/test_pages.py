"""Each dashboard page in a real Chromium (one browser and one served lake for the module):
what a person looks for on it, and screenshots at desktop and phone widths (tests/web/
browser.py) in which the key parts are visible and nothing pushes the page sideways."""

from __future__ import annotations

import copy

import pytest
from playwright.sync_api import expect

from medalist.access import Users
from medalist.web.app import create_app
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT, Project
from tests.web.browser import log_in, screenshots, serve

WIDE = "x" * 300  # a status value no one can read in one table cell
GOOD = (
    HEADER
    + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n"
    + "2,2026-11-24 10:00:00,7,0,1.00,PAID\n"  # quantity 0: quarantined
    + f"3,2026-11-24 11:00:00,8,1,2.50,{WIDE}\n"  # not an accepted status: quarantined
)
DRIFTED = (  # a new column, coupon: evolves the schema, so the run is WARN
    "order_id,order_ts,customer_id,quantity,unit_price,status,coupon\n"
    "4,2026-11-25 09:00:00,9,3,4.00,PAID,XMAS\n"
)
CONTRACT = {**copy.deepcopy(ORDERS_CONTRACT), "on_schema_drift": "evolve"}
TOP_DAYS = {"sql": "SELECT day, revenue FROM gold.daily_sales WHERE revenue > 0"}


@pytest.fixture(scope="module")
def site(tmp_path_factory, browser):
    """(base URL, project, runs by file, a logged-in engineer's page)."""
    root = tmp_path_factory.mktemp("pages") / "project"
    root.mkdir()
    project = Project(
        root,
        {
            "name": "shop",
            "datasets": {"orders": CONTRACT},
            "models": {"daily_sales": DAILY_SALES, "top_days": TOP_DAYS},
            # nothing listens there: its alerts stay in the outbox, undelivered
            "notifications": [
                {"type": "webhook", "url": "http://127.0.0.1:9/hook", "timeout_s": 1}
            ],
        },
    )
    project.land("orders/2026-11-24.csv", GOOD)
    project.land("orders/2026-11-25.csv", DRIFTED)
    project.land("orders/2026-11-26.csv", b"\x00binary")
    project.land("ORDERS.CSV", GOOD)  # at the root of landing: no dataset reads it
    runs = {r.file: r for r in project.run().runs}
    pipeline = project.pipeline
    token = Users(pipeline).add("erin", "engineer")
    for base in serve(create_app(pipeline)):
        with browser.new_context(viewport={"width": 1280, "height": 900}) as context:
            page = context.new_page()
            log_in(page, base, token)
            yield base, project, runs, page


def test_overview_says_what_needs_attention_and_charts_a_day_or_90(site, tmp_path):
    base, _, runs, page = site
    failed = runs["orders/2026-11-26.csv"]
    warn = runs["orders/2026-11-25.csv"]
    page.goto(base + "/")

    expect(page.locator("#attention-failed")).to_contain_text(failed.run_id)
    expect(page.locator("#attention-warn")).to_contain_text(warn.run_id)
    expect(page.locator("#attention-warn")).to_contain_text("schema drift: +coupon")
    expect(page.locator("#attention-alerts")).to_contain_text("webhook")
    expect(page.locator("#attention-unmatched")).to_contain_text("ORDERS.CSV")
    charts = page.locator("figure[data-chart] canvas")
    expect(charts).to_have_count(4)
    screenshots(page, tmp_path, "overview", page.locator("#attention"), charts)

    for span, seconds, x_label in (("1d", 86_400, "hour (UTC)"), ("90d", 90 * 86_400, "day")):
        page.goto(f"{base}/?span={span}")
        expect(page.locator("figure[data-chart] canvas")).to_have_count(4)
        axes = page.evaluate(
            """() => window.medalistCharts.map(u => ({
                span: u.scales.x.max - u.scales.x.min, ymin: u.scales.y.min, ymax: u.scales.y.max,
                x: u.axes[0].label, y: u.axes[1].label,
                ticks: u.axes[1].values(u, [0, 50, 100]) }))"""
        )
        assert {a["span"] for a in axes} == {seconds}
        assert all(a["ymin"] == 0 and a["x"].startswith(x_label) for a in axes)
        runs_chart, _, failure_rate, duration = axes
        assert runs_chart["ymax"] >= 3  # three runs today, stacked
        assert failure_rate["ymax"] == 100 and failure_rate["ticks"][1] == "50%"
        assert duration["y"] == "seconds" and duration["ticks"][1] == "50 s"
