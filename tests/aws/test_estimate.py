"""`medalist aws estimate`: monthly cost from the pipeline's own measured runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.deploy.estimate import Volume, estimate, measure, prices
from medalist.wiring import local_ports
from tests.conftest import Project


def _big_orders(path: Path, rows: int) -> None:
    """A CSV of valid orders, well over the 10 MB from which runs measure speed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        f"""COPY (SELECT i AS order_id, TIMESTAMP '2026-11-01' + to_seconds(i) AS order_ts,
                 i % 1000 AS customer_id, 1 + i % 5 AS quantity,
                 CAST(10 + i % 90 AS DECIMAL(12,2)) AS unit_price, 'PAID' AS status,
                 repeat('x', 40) AS note
            FROM range({rows}) t(i)) TO '{path}' (HEADER)"""
    )


@pytest.fixture
def measured(make_project: Callable[..., Project]) -> Project:
    project = make_project()
    project.land("orders/small.csv", "order_id,order_ts\n1,2026-11-01 00:00:00\n")
    _big_orders(project.landing / "orders" / "big.csv", 200_000)
    assert (project.landing / "orders" / "big.csv").stat().st_size > 10e6
    project.run()
    return project


def test_glue_hours_come_from_the_speed_measured_on_big_runs(measured: Project) -> None:
    pipeline = measured.pipeline
    runs = local_ports(pipeline).runlog.list(limit=None)
    speed = measure(runs)
    assert speed["Transform"].measured and speed["Transform"].runs == 2
    assert speed["Transform"].fixed_s > 0  # the small file's time is the fixed cost

    result = estimate(pipeline, runs, Volume(daily_gb=100, files_per_day=10))
    glue = next(line for line in result.lines if line.service.startswith("Glue"))
    per_run_s = sum(max(60, speed[s].seconds(10e9)) for s in ("Crawl", "Transform", "Load"))
    dpu_hours = 10 * 30 * per_run_s / 3600 * 2  # 2 workers of 1 DPU
    assert glue.monthly_usd == pytest.approx(dpu_hours * prices()["glue_dpu_hour"])
    assert any("measured on this pipeline's runs" in note for note in result.assumptions)


def test_the_glue_minimum_makes_many_small_files_cost_more(measured: Project) -> None:
    pipeline = measured.pipeline
    runs = local_ports(pipeline).runlog.list(limit=None)
    few = estimate(pipeline, runs, Volume(daily_gb=1, files_per_day=2))
    many = estimate(pipeline, runs, Volume(daily_gb=1, files_per_day=1000))
    few_glue, many_glue = (
        next(line.monthly_usd for line in r.lines if line.service.startswith("Glue"))
        for r in (few, many)
    )
    assert many_glue > 100 * few_glue


def test_without_runs_the_estimate_says_its_speed_is_assumed(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    result = estimate(project.pipeline, [], Volume(daily_gb=5, files_per_day=24))
    assert any("speed assumed from the 5M-row benchmark" in n for n in result.assumptions)
    assert result.total > 0


def test_cli_prints_the_monthly_table_and_refuses_a_bad_worker_type(measured: Project) -> None:
    config = str(measured.config_path)
    args = ["aws", "estimate", "-c", config, "--daily-gb", "5", "--files-per-day", "24"]
    printed = CliRunner().invoke(app, args)
    assert printed.exit_code == 0, printed.output
    assert "Glue (DPU-hours)" in printed.output and "total" in printed.output
    assert "as of " + prices()["as_of"] in printed.output
    refused = CliRunner().invoke(app, [*args, "--worker-type", "G.3X"])
    assert refused.exit_code == 2
    assert "G.1X" in refused.output
