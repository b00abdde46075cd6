"""Gold models that run inside the destination (ELT): the same SQL run by the engine and by the
destination yields the same table, run after run (merged, rebuilt, replayed, retried), and the
model is part of the Load's transaction."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.config import LoadMode
from medalist.controller import run_pipeline
from medalist.destination import SupportsModels, TableRef, open_destination
from medalist.destination.elt import ModelJob, run_models
from medalist.operate import replay_dataset, retry_run
from medalist.runlog import Status
from medalist.wiring import local_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.conftest import HEADER, ORDERS_CONTRACT, execute, read_table
from tests.proxy import PgProxy

# Each model twice: built by the engine (NAME) and in the destination (NAME_elt).
MODELS: dict[str, dict[str, Any]] = {
    "daily": {  # decomposes: merged on runs that only add rows
        "sql": "SELECT CAST(order_ts AS DATE) AS day, count(*) AS orders, "
        "sum(quantity * unit_price) AS revenue, min(unit_price) AS cheapest, "
        "max(order_ts) AS last_at FROM silver.orders WHERE status = 'PAID' GROUP BY 1",
        "primary_key": ["day"],
    },
    "by_status": {  # decomposes, GROUP BY ALL (rewritten for PostgreSQL), replaced whole
        "sql": "SELECT status, count(customer_id) AS customers FROM silver.orders GROUP BY ALL",
    },
    "average": {  # rebuilt every time: an average does not decompose
        "sql": "SELECT status, avg(unit_price) AS mean, count(DISTINCT customer_id) AS people "
        "FROM silver.orders GROUP BY status",
        "primary_key": ["status"],
    },
    "summary": {  # reads an engine model: engine -> destination
        "sql": "SELECT count(*) AS days, sum(orders) AS orders FROM gold.daily",
    },
}


def _twins() -> dict[str, dict[str, Any]]:
    models = dict(MODELS)
    for name, spec in MODELS.items():
        if name != "summary":
            models[f"{name}_elt"] = {**spec, "run_in": "destination"}
    models["summary_elt"] = {**MODELS["summary"], "run_in": "destination"}
    return models


def _rows(first: int, count: int, day: int, price: str | None = None) -> str:
    return HEADER + "".join(
        f"{i},2026-03-{day:02d}T{i % 24:02d}:00:00,{i % 7 or ''},{1 + i % 3},"
        f"{price or f'{1 + i * 7 % 13}.25'},{'PAID' if i % 5 else 'REFUNDED'}\n"
        for i in range(first, first + count)
    )


def _same(value: Any) -> Any:
    """Values as comparable across engines: numbers to 9 places (avg is a double in DuckDB and
    a numeric in PostgreSQL), everything else as it is."""
    if isinstance(value, Decimal | float):
        return round(float(value), 9)
    return value


def _table(url: str, table: str) -> list[tuple[Any, ...]]:
    return sorted((tuple(_same(v) for v in row) for row in read_table(url, table, "1")), key=repr)


def assert_twins_equal(url: str, when: str) -> None:
    for name in MODELS:
        engine, elt = _table(url, f"gold.{name}"), _table(url, f"gold.{name}_elt")
        assert elt == engine, f"{name} after {when}"
        assert engine, f"{name} after {when} is empty"


def test_models_in_the_destination_equal_the_engines_run_after_run(make_project, destination):
    project = make_project(destination, models=_twins())
    days = [
        ("day-1.csv", _rows(1, 40, 1)),
        ("day-2.csv", _rows(41, 40, 2)),  # new keys only: merged
        ("day-3.csv", _rows(81, 40, 2, price="0.75")),  # new keys, same day: groups add up
        ("day-4.csv", _rows(10, 5, 3, price="9.00")),  # corrections: rebuilt
        ("day-5.csv", HEADER),  # no rows: merged, nothing changes
    ]
    merged = []
    for name, body in days:
        project.land(f"orders/{name}", body)
        (run,) = project.run().runs
        assert run.status == Status.SUCCEEDED, run.error
        merged.append(sorted(run.outputs["Load"]["models_merged"]))
        assert_twins_equal(destination, name)
    assert merged == [
        [],  # nothing to merge into yet
        ["by_status_elt", "daily_elt"],
        ["by_status_elt", "daily_elt"],
        [],  # changed rows: rebuilt
        ["by_status_elt", "daily_elt"],
    ]
    # Nothing of them in the lake: their tables live in the destination only.
    assert not (project.root / "lake" / "gold" / "daily_elt").exists()


def test_a_replay_rebuilds_the_destination_models_like_the_engines(make_project, destination):
    project = make_project(destination, models=_twins())
    project.land("orders/day-1.csv", _rows(1, 30, 1))
    project.land("orders/day-2.csv", _rows(31, 30, 2))
    project.run()
    contract = json.loads(json.dumps(ORDERS_CONTRACT))
    contract["columns"]["unit_price"]["max"] = 8  # a contract fix quarantines dear orders
    project = make_project(destination, models=_twins(), datasets={"orders": contract})
    pipeline = project.pipeline

    outcome = replay_dataset(pipeline, local_ports(pipeline), Runner(INGEST), "orders")

    assert [r.status for r in outcome.runs] == [Status.SUCCEEDED] * 2
    assert all(r.outputs["Load"]["models_merged"] == [] for r in outcome.runs)
    assert_twins_equal(destination, "replay")
    assert max(r[3] for r in read_table(destination, "gold.daily_elt", "day")) <= 8


def test_a_load_retried_after_postgres_went_away_builds_the_models_once(make_project, pg_url):
    proxy = PgProxy(pg_url)
    try:
        project = make_project(proxy.url, models=_twins())
        project.land("orders/day-1.csv", _rows(1, 30, 1))
        project.run()
        project.land("orders/day-2.csv", _rows(31, 30, 1))  # merges into day 1's groups
        proxy.down()
        pipeline = project.pipeline
        sleeps: list[float] = []
        (failed,) = run_pipeline(
            pipeline, local_ports(pipeline), Runner(INGEST, sleeps.append)
        ).runs
        assert failed.status == Status.FAILED and failed.state == "Load"
        proxy.up()

        (retried,) = retry_run(pipeline, local_ports(pipeline), Runner(INGEST), failed.run_id).runs

        assert retried.status == Status.SUCCEEDED, retried.error
        assert sorted(retried.outputs["Load"]["models_merged"]) == ["by_status_elt", "daily_elt"]
        assert_twins_equal(pg_url, "retry")
        assert read_table(pg_url, "gold.daily_elt", "day")[0][1] == 48  # 60 orders, 48 PAID
    finally:
        proxy.close()


def test_a_model_failing_in_the_destination_leaves_silver_as_it_was(make_project, destination):
    project = make_project(destination, models=_twins())
    project.land("orders/day-1.csv", _rows(1, 5, 1))
    (first,) = project.run().runs
    assert first.status == Status.SUCCEEDED, first.error
    # Someone constrained the model's table: the next run's merge into it breaks the rule.
    execute(destination, "DROP TABLE gold.average_elt")
    execute(
        destination,
        "CREATE TABLE gold.average_elt (status VARCHAR(16) PRIMARY KEY, mean DOUBLE PRECISION, "
        "people BIGINT CHECK (people < 6))",
    )
    project.land("orders/day-2.csv", _rows(6, 20, 2))

    (second,) = project.run().runs

    assert second.status == Status.FAILED and second.state == "Load"
    assert "gold model average_elt failed in the destination" in second.error["message"]
    assert [r[0] for r in read_table(destination, "silver.orders", "order_id")] == list(range(1, 6))


SILVER = (
    "CREATE TABLE silver.orders (order_id BIGINT PRIMARY KEY, status VARCHAR(16), "
    "quantity INTEGER, _run_id VARCHAR(32))"
)
COUNTS = ModelJob(
    "counts",
    "SELECT status, count(*) AS n, sum(quantity) AS q FROM silver.orders GROUP BY status",
    LoadMode.replace,
    (),
    "tag-1",
)


@pytest.mark.parametrize("repeat", [1, 2], ids=["once", "loaded-again"])
def test_a_run_loaded_again_after_its_commit_adds_its_rows_once(destination, repeat):
    """A crash after the Load committed and before the run log heard of it: the run's Load
    runs again, and must not merge its rows into the model a second time."""
    dest = open_destination(destination)
    assert isinstance(dest, SupportsModels)
    try:
        with dest.transaction():
            dest.execute("CREATE SCHEMA IF NOT EXISTS silver")
            dest.execute(SILVER)
            dest.execute("INSERT INTO silver.orders VALUES (1, 'PAID', 2, 'r1')")
            run_models(dest, [COUNTS], "r1", None)
        for _ in range(repeat):
            with dest.transaction():
                dest.execute(
                    "INSERT INTO silver.orders SELECT 2, 'PAID', 3, 'r2' WHERE NOT EXISTS "
                    "(SELECT 1 FROM silver.orders WHERE order_id = 2)"
                )
                _, merged = run_models(dest, [COUNTS], "r2", "orders")
        assert merged == ([] if repeat == 2 else ["counts"])
        rows = dest.rows("SELECT status, n, q FROM gold.counts")
        assert [tuple(int(v) if not isinstance(v, str) else v for v in r) for r in rows] == [
            ("PAID", 2, 5)
        ]
        assert dest.column_types(TableRef("gold", "counts__medalist_new")) == {}
    finally:
        dest.close()


def _validate(make_project, destination: str, models: dict[str, Any], **more: Any) -> str:
    project = make_project(destination, models=models, **more)
    result = CliRunner().invoke(app, ["validate", "-c", str(project.config_path)])
    return f"{result.exit_code} {result.output}"


NOWHERE_PG = "postgresql://nobody@127.0.0.1:1/never"  # validate translates; it never connects


@pytest.mark.parametrize(
    ("url", "sql", "construct"),
    [
        (NOWHERE_PG, "SELECT list_distinct(list(status)) AS s FROM silver.orders", "list"),
        (NOWHERE_PG, "SELECT * EXCLUDE (status) FROM silver.orders", "EXCLUDE"),
        (
            NOWHERE_PG,
            "SELECT order_id FROM silver.orders UNION ALL BY NAME SELECT order_id FROM "
            "silver.orders",
            "UNION/EXCEPT BY NAME",
        ),
        (NOWHERE_PG, "SELECT bar(quantity, 0, 9) AS b FROM silver.orders", "function bar()"),
        (
            "redshift://u@c.eu-west-1.redshift.amazonaws.com:5439/db?iam_role=arn:x",
            "SELECT count(*) FILTER (WHERE quantity > 1) AS big FROM silver.orders",
            "FILTER (WHERE",
        ),
    ],
    ids=["list-functions", "exclude", "union-by-name", "duckdb-only-function", "redshift-filter"],
)
def test_validate_refuses_what_the_dialect_cannot_do_naming_model_and_construct(
    make_project, url, sql, construct
):
    out = _validate(make_project, url, {"odd": {"sql": sql, "run_in": "destination"}})
    assert out.startswith("2 ") and "models.odd.sql" in out and construct in out, out
    assert "set run_in: engine" in out


def test_validate_explains_dependencies_that_go_the_wrong_way(make_project):
    models = {
        "late": {"sql": "SELECT count(*) AS n FROM silver.orders", "run_in": "destination"},
        "early": {"sql": "SELECT n FROM gold.late"},  # the engine runs before the destination
        "nowhere": {"sql": "SELECT count(*) AS n FROM silver.orders", "load": "none"},
        "reads_nowhere": {"sql": "SELECT n FROM gold.nowhere", "run_in": "destination"},
    }
    out = _validate(make_project, NOWHERE_PG, models)
    assert out.startswith("2 ")
    assert (
        "models.early: runs in the engine but reads gold.late, which runs in the destination" in out
    )
    assert (
        "models.reads_nowhere: reads gold.nowhere, which is not loaded into the destination" in out
    )


def test_validate_accepts_group_by_all_and_refuses_a_destination_that_cannot_run_sql(
    make_project, tmp_path
):
    by_all = {"s": {"sql": MODELS["by_status"]["sql"], "run_in": "destination"}}
    assert _validate(make_project, NOWHERE_PG, by_all).startswith("0 ")
    out = _validate(make_project, f"dummy://x/{tmp_path.name}", by_all)
    assert out.startswith("2 ") and "the destination dummy:// cannot run models" in out
