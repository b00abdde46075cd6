"""Schema drift under each policy, on both destinations: fail stops the file in Crawl with the
diff, evolve carries new columns to silver and the destination (and widens types), ignore drops
them. Every accepted schema is a catalog version that `medalist catalog` shows."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.runlog import Status
from tests.conftest import HEADER, ORDERS_CONTRACT, read_table

FIRST = HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n"
# A coupon column appears and the optional status column is gone.
DRIFTED = (
    "order_id,order_ts,customer_id,quantity,unit_price,coupon\n"
    "2,2026-11-25 09:00:00,7,1,5.00,XMAS\n"
)


def project_with(make_project, destination, policy: str):
    contract = {**ORDERS_CONTRACT, "on_schema_drift": policy}
    project = make_project(destination, datasets={"orders": contract})
    project.land("orders/2026-11-24.csv", FIRST)
    (first,) = project.run().runs
    assert first.status == Status.SUCCEEDED, first.error
    project.land("orders/2026-11-25.csv", DRIFTED)
    return project


def columns(url: str, table: str) -> list[str]:
    schema, name = table.split(".")
    sql = (
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        f"'{schema}' AND table_name = '{name}' ORDER BY ordinal_position"
    )
    if url.startswith("duckdb"):
        with duckdb.connect(url.removeprefix("duckdb:///"), read_only=True) as con:
            return [r[0] for r in con.execute(sql).fetchall()]
    import psycopg

    with psycopg.connect(url) as con:
        return [r[0] for r in con.execute(sql).fetchall()]


def test_fail_stops_the_file_in_crawl_with_the_diff_and_changes_nothing(make_project, destination):
    project = project_with(make_project, destination, "fail")
    before = read_table(destination, "silver.orders", "order_id")

    (run,) = project.run().runs

    assert run.status == Status.FAILED and run.state == "Crawl"
    assert "schema drift: +coupon VARCHAR, -status" in run.error["message"]
    assert run.error["rule"] == "schema_drift"
    alert = json.loads(
        (project.root / "lake/_medalist/notifications.jsonl").read_text().splitlines()[-1]
    )
    assert alert["event"] == "FAIL" and "+coupon VARCHAR, -status" in alert["reason"]
    assert read_table(destination, "silver.orders", "order_id") == before


def test_evolve_carries_a_new_column_to_silver_the_destination_and_the_catalog(
    make_project, destination
):
    project = project_with(make_project, destination, "evolve")

    (run,) = project.run().runs

    assert run.status == Status.SUCCEEDED, run.error
    assert run.outputs["Crawl"]["extras"] == {"coupon": "VARCHAR"}
    assert "coupon" in columns(destination, "silver.orders")
    rows = read_table(destination, "silver.orders", "order_id")
    coupon = columns(destination, "silver.orders").index("coupon")
    status = columns(destination, "silver.orders").index("status")
    assert [(r[0], r[coupon], r[status]) for r in rows] == [(1, None, "PAID"), (2, "XMAS", None)]
    listing = CliRunner().invoke(app, ["catalog", "orders", "-c", str(project.config_path)])
    assert listing.exit_code == 0, listing.output
    assert "2 schema version(s)" in listing.output
    assert "+coupon varchar, -status varchar" in listing.output.replace("\n", " ").lower()


def test_ignore_drops_new_columns_and_leaves_missing_ones_empty(make_project, destination):
    project = project_with(make_project, destination, "ignore")

    (run,) = project.run().runs

    assert run.status == Status.SUCCEEDED, run.error
    assert run.outputs["Crawl"]["ignored_columns"] == ["coupon"]
    assert "coupon" not in columns(destination, "silver.orders")
    shown = CliRunner().invoke(app, ["show", run.run_id, "-c", str(project.config_path)])
    assert "ignored columns coupon" in shown.output


@pytest.mark.parametrize(
    ("later", "outcome"),
    [
        ('{"id": 2, "amount": 2.5, "extra": 1.5}', "widened"),
        ('{"id": 2, "amount": "lots", "extra": 1}', "refused"),
    ],
    ids=["bigint_to_double_widens", "bigint_to_text_fails"],
)
def test_evolve_widens_typed_columns_and_refuses_unsafe_changes(
    make_project, destination, later, outcome
):
    contract = {
        "source": "events/*.jsonl",
        "primary_key": ["id"],
        "on_schema_drift": "evolve",
        "columns": {"id": {"type": "bigint"}, "amount": {"type": "double"}},
    }
    project = make_project(destination, datasets={"events": contract}, models={})
    project.land("events/1.jsonl", '{"id": 1, "amount": 3, "extra": 7}\n')
    (first,) = project.run().runs
    assert first.status == Status.SUCCEEDED, first.error
    project.land("events/2.jsonl", later + "\n")

    (run,) = project.run().runs

    if outcome == "widened":
        assert run.status == Status.SUCCEEDED, run.error
        rows = read_table(destination, "silver.events", "id")
        extra = columns(destination, "silver.events").index("extra")
        assert [r[extra] for r in rows] == [7.0, 1.5]
    else:
        assert run.status == Status.FAILED and run.state == "Crawl"
        assert "cannot evolve safely: amount BIGINT → VARCHAR" in run.error["message"]
