"""`medalist demo` is the first thing a new user runs: it must work and say where to look."""

from __future__ import annotations

import duckdb
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from medalist.cli import app
from medalist.loader import load_pipeline
from medalist.web.app import create_app


def test_demo_runs_the_whole_pipeline_and_prints_where_to_look(tmp_path):
    folder = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", str(folder)])

    assert result.exit_code == 0, result.output
    assert "9 runs, 104,320 rows in" in result.output
    assert "1 failed on purpose" in result.output
    for zone in ("landing", "silver", "quarantine", "gold", "warehouse", "run log"):
        assert zone in result.output
    with duckdb.connect(str(folder / "lake/warehouse.duckdb"), read_only=True) as con:
        orders, distinct = con.execute(
            "SELECT count(*), count(DISTINCT order_id) FROM silver.orders"
        ).fetchall()[0]
        refunds = con.execute(
            "SELECT count(*) FROM silver.orders WHERE status = 'REFUNDED'"
        ).fetchall()[0][0]
        models = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'gold'"
        ).fetchall()[0][0]
    assert orders == distinct > 90_000
    assert refunds > 600  # the day-after corrections were merged, not appended
    assert models == 4

    assert f"medalist ui -c {folder / 'pipeline.yaml'}" in result.output
    _the_dashboard_shows_the_demo(folder)

    again = CliRunner().invoke(app, ["demo", str(folder)])  # re-creatable
    assert again.exit_code == 0, again.output


def _the_dashboard_shows_the_demo(folder):
    client = TestClient(create_app(load_pipeline(folder / "pipeline.yaml")))
    overview = client.get("/")
    runs = client.get("/api/runs").json()
    (failed,) = [r for r in runs if r["status"] == "FAILED"]
    failed_page = client.get(f"/runs/{failed['run_id']}")
    orders = next(r for r in runs if r["dataset"] == "orders" and r["rows_quarantined"])
    orders_page = client.get(f"/runs/{orders['run_id']}")
    answer = client.post("/api/query", json={"sql": "SELECT count(*) FROM gold.daily_sales"})

    assert overview.text.count("<figure data-chart>") == 4
    assert len(runs) == 9
    assert "the gzip stream is cut short" in failed_page.text
    assert "Quarantined rows" in orders_page.text and "quantity:min" in orders_page.text
    assert answer.json()["rows"] == [[5]]


def test_demo_will_not_touch_a_folder_that_is_not_a_demo(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(app, ["demo", str(tmp_path)])
    assert result.exit_code == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
