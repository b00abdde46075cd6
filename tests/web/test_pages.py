"""Each dashboard page in a real Chromium (one browser and one served lake for the module):
what a person looks for on it, and screenshots at desktop and phone widths (tests/web/
browser.py) in which the key parts are visible and nothing pushes the page sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from ulid import ULID

from medalist.access import Users
from medalist.metastore import now
from medalist.runlog import RunRecord, Status
from medalist.web.app import create_app
from medalist.wiring import open_ports
from tests.web.browser import log_in, screenshots
from tests.web.site import NOTE, TOP_DAYS, WIDE

# one Chromium for the whole session: these tests share one xdist worker
pytestmark = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def site(served_site, browser):
    """(base URL, project, runs by file, a logged-in engineer's page)."""
    with browser.new_context(viewport={"width": 1280, "height": 900}) as context:
        page = context.new_page()
        log_in(page, served_site.base, served_site.tokens["engineer"])
        yield served_site.base, served_site.project, served_site.runs, page


def test_overview_says_what_needs_attention_and_charts_a_day_or_90(site, tmp_path):
    base, _, runs, page = site
    failed = runs["orders/2026-11-26.csv"]
    warn = runs["orders/2026-11-25.csv"]
    page.goto(base + "/")

    expect(page.locator("#attention-failed")).to_contain_text(failed.run_id)
    expect(page.locator("#attention-warn")).to_contain_text(warn.run_id)
    expect(page.locator("#attention-warn")).to_contain_text("schema drift: +coupon")
    expect(page.locator("#attention-alerts")).to_contain_text("webhook")
    expect(page.locator("#attention-stale")).to_contain_text("refunds: no successful file yet")
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


def test_runs_are_searched_sorted_paged_and_running_ones_move(site, tmp_path):
    base, project, runs, page = site
    runlog = open_ports(project.pipeline).runlog
    running = runlog.claim(
        RunRecord(
            run_id=str(ULID()),
            pipeline="shop",
            dataset="orders",
            file="orders/2026-11-27.csv",
            file_hash="0" * 64,
            file_bytes=10,
            started_at=now(),
            state="Crawl",
        )
    )
    assert running is not None
    files = page.locator("#runs tr[data-run] td:nth-child(4)")
    try:
        page.goto(base + "/runs")
        row = page.locator(f"tr[data-run='{running.run_id}']")
        expect(row.locator("[data-field=state]")).to_have_text("Crawl")
        expect(page.locator("#runs tr[data-run]").first.locator("td").first).to_contain_text("UTC")
        screenshots(page, tmp_path, "runs", page.locator("#runs"), page.locator("#run-search"))

        # live: the state and rows so far change in place, without a reload
        page.evaluate("window.notReloaded = true")
        running = runlog.update(running.model_copy(update={"state": "Load", "rows_in": 1234567}))
        expect(row.locator("[data-field=state]")).to_have_text("Load", timeout=8000)
        expect(row.locator("[data-field=rows_in]")).to_have_text("1,234,567")
        assert page.evaluate("window.notReloaded") is True
    finally:
        done = running.model_copy(update={"status": Status.SUCCEEDED, "ended_at": now()})
        runlog.update(done.model_copy(update={"duration_s": 3725.0}))
    expect(row.locator("[data-field=outcome]")).to_have_text("SUCCEEDED", timeout=8000)

    # sort by file, then the other way
    page.goto(base + "/runs")
    page.click("a[data-sort=file]")
    by_file = files.all_inner_texts()
    assert by_file == sorted(by_file) and len(by_file) == 4
    page.click("a[data-sort=file]")
    assert files.all_inner_texts() == by_file[::-1]
    page.click("a[data-sort=duration]")
    expect(page.locator("#runs tr[data-run] td[data-field=duration_s]").first).to_have_text(
        "1 h 02 m"
    )

    # search: part of a file name, an outcome, a time range
    page.goto(base + "/runs")
    page.fill("input[name=q]", "11-25")
    page.click("#run-search button")
    expect(page.locator("#runs tr[data-run]")).to_have_count(1)
    expect(page.locator("#runs")).to_contain_text(runs["orders/2026-11-25.csv"].run_id[:10])
    page.fill("input[name=q]", "")
    page.select_option("select[name=status]", "WARN")
    page.click("#run-search button")
    expect(page.locator("#runs tr[data-run]")).to_have_count(2)
    page.select_option("select[name=status]", "")
    page.fill("input[name=since]", (now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.click("#run-search button")
    expect(page.locator("#run-count")).to_have_text("No runs match. · times in UTC")

    # pages of two
    page.goto(base + "/runs?per=2")
    expect(page.locator("#run-count")).to_contain_text("Runs 1 to 2 of 4")
    first = files.all_inner_texts()
    page.click("a[rel=next]")
    expect(page.locator("#run-count")).to_contain_text("Runs 3 to 4 of 4")
    assert not set(files.all_inner_texts()) & set(first)
    expect(page.locator("a[rel=next]")).to_have_count(0)


def test_a_run_page_pages_its_quarantine_tables_its_drift_and_logs_each_state(site, tmp_path):
    base, _, runs, page = site
    good, drifted = runs["orders/2026-11-24.csv"], runs["orders/2026-11-25.csv"]

    page.goto(f"{base}/runs/{good.run_id}?qper=1")
    expect(page.locator("#quarantine-count")).to_contain_text("Rows 1 to 1 of 2")
    expect(page.locator("#quarantine")).to_contain_text("quantity")
    page.click("a[rel=next]")
    expect(page.locator("#quarantine-count")).to_contain_text("Rows 2 to 2 of 2")
    wide = page.locator("#quarantine td", has_text=WIDE)
    expect(wide).to_be_visible()
    cell = wide.bounding_box()
    assert cell is not None and cell["width"] < 400 < cell["height"] * 4  # wrapped, not cut
    for state in ("Crawl", "Transform", "Load"):
        log = page.locator(f"#log details[data-state={state}]")
        expect(log.locator("summary")).to_contain_text("SUCCEEDED")
        expect(log.locator("tr")).to_have_count(3)  # header, RUNNING, SUCCEEDED
    screenshots(page, tmp_path, "run", page.locator("#quarantine"), page.locator("#log"))

    page.goto(f"{base}/runs/{drifted.run_id}")
    expect(page.locator("#drift tr", has_text="coupon")).to_contain_text(
        "added: not in the contract"
    )
    expect(page.locator("#drift tr", has_text="coupon")).to_contain_text("varchar")
    expect(page.locator("#warnings")).to_contain_text("schema drift")
    screenshots(page, tmp_path, "drift", page.locator("#drift"))


def test_datasets_show_models_lineage_and_the_contract_as_written(site, tmp_path):
    base, _, runs, page = site
    page.goto(base + "/datasets")

    lineage = page.locator("#lineage svg")
    for node in ("landing:orders/*.csv", "silver.orders", "silver.refunds", "gold.top_days"):
        expect(lineage.locator(f"g[data-node='{node}']")).to_be_visible()
    for edge in (
        "landing:orders/*.csv>silver.orders",
        "silver.orders>gold.daily_sales",
        "gold.daily_sales>gold.top_days",
        "gold.top_days>dest:gold.top_days",
        "silver.orders>dest:silver.orders",
    ):
        expect(lineage.locator(f"path[data-edge='{edge}']")).to_have_count(1)
    # columns left to right: landing, silver, then models by depth, then destination
    xs = [
        lineage.locator(f"g[data-node='{n}'] rect").get_attribute("x")
        for n in ("landing:orders/*.csv", "silver.orders", "gold.daily_sales", "gold.top_days",
                  "dest:gold.top_days")
    ]  # fmt: skip
    assert [float(x) for x in xs] == sorted(float(x) for x in xs) and len(set(xs)) == 5

    top = page.locator("#model-top_days")
    expect(top.locator("pre.sql")).to_have_text(TOP_DAYS["sql"])
    expect(top).to_contain_text("reads gold.daily_sales")
    daily = page.locator("#model-daily_sales")
    expect(daily).to_contain_text("read by gold.top_days")
    last = runs["orders/2026-11-25.csv"].run_id  # the newest SUCCEEDED run built it last
    expect(daily.locator(".last-build")).to_contain_text(f"last built by {last}")
    screenshots(page, tmp_path, "datasets", lineage, top)

    page.goto(base + "/datasets/orders")
    contract = page.locator("#contract-yaml")
    expect(contract).to_contain_text(NOTE.strip())
    expect(contract).to_contain_text("source: orders/*.csv")
    expect(contract).to_contain_text("on_schema_drift: evolve")
    expect(page.locator("figure[data-chart] canvas")).to_have_count(2)
    spans = page.evaluate("window.medalistCharts.map(u => u.scales.x.max - u.scales.x.min)")
    assert spans == [90 * 86_400] * 2
    screenshots(page, tmp_path, "dataset", contract)


def test_the_console_lists_tables_counts_rows_keeps_refusals_and_scrolls_wide(site, tmp_path):
    base, _, _, page = site
    page.goto(base + "/query")
    tables = page.locator("#tables")
    expect(tables.locator("details[data-table='gold.daily_sales']")).to_contain_text("revenue")
    expect(tables.locator("details[data-table='silver.orders']")).to_contain_text("order_ts")

    page.fill("textarea[name=sql]", "SELECT range AS n FROM range(250)")
    page.click("#run-query")
    expect(page.locator("#result-count")).to_contain_text("250 row(s) in total")
    expect(page.locator("#results tr")).to_have_count(101)

    refused = "SELECT * FROM read_csv('/etc/passwd')"
    page.fill("textarea[name=sql]", refused)
    page.click("#run-query")
    expect(page.locator("#query-error")).to_be_visible()
    expect(page.locator("#history tr.refused").first).to_contain_text(refused)

    page.fill("textarea[name=sql]", "SELECT repeat('w', 400) AS wide, 1 AS n")
    page.click("#run-query")
    scroller = page.locator(".results")
    assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")
    screenshots(page, tmp_path, "query", page.locator("#results"), tables)
    assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")  # still scrolls on a phone


def test_file_names_stay_hidden_from_roles_without_landing(site):
    _, project, _, _ = site
    pipeline = project.pipeline
    analyst = Users(pipeline).add("al", "analyst")
    client = TestClient(create_app(pipeline))

    page = client.get("/", headers={"Authorization": f"Bearer {analyst}"})

    assert page.status_code == 200 and "Needs attention" in page.text
    assert "ORDERS.CSV" not in page.text and "attention-unmatched" not in page.text
    api = client.get("/api/overview", headers={"Authorization": f"Bearer {analyst}"}).json()
    assert len(api["attention"]["failed"]) == 1 and api["attention"]["unmatched"] == []
    # nor can they find out file names by searching or sorting runs by them
    everything = client.get("/runs", headers={"Authorization": f"Bearer {analyst}"})
    searched = client.get("/runs?q=11-25", headers={"Authorization": f"Bearer {analyst}"})
    assert 'name="q"' not in everything.text and 'data-sort="file"' not in everything.text
    assert searched.text.count("<tr data-run=") == everything.text.count("<tr data-run=") > 1
