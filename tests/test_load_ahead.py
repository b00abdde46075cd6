"""Loading ahead (decision 0012): a file's silver rows go to a PostgreSQL stage while Transform
writes them, and Load publishes the stage. PostgreSQL must end up exactly as loading after
Transform leaves it, whatever goes wrong on the way; no stage may outlive its run."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from medalist.config import LoadMode
from medalist.controller import run_pipeline
from medalist.destination import TableRef
from medalist.destination.postgres import STAGE_SCHEMA, PostgresDestination
from medalist.runlog import Status
from medalist.wiring import local_ports
from medalist.workflow.context import RunContext
from medalist.workflow.definition import INGEST, Workflow
from medalist.workflow.runner import Runner
from tests.conftest import HEADER, execute, read_table
from tests.proxy import PgProxy

LINEAGE = ("_run_id", "_ingested_at")  # differ from one project to another


def _orders(ids: range, day: int = 24, quantity: int = 1) -> str:
    rows = (f"{i},2026-11-{day} 09:00:00,{i % 7},{quantity},2.50,PAID\n" for i in ids)
    return HEADER + "".join(rows)


DAYS = [  # a new table, then new rows and corrections, then a file whose keys repeat
    ("orders/1.csv", _orders(range(1, 3001))),
    ("orders/2.csv", _orders(range(2001, 6001), day=25, quantity=2)),
    (
        "orders/3.csv",
        _orders(range(5000, 7001), day=26) + "7000,2026-11-26 10:00:00,1,9,1.00,PAID\n",
    ),
]


def _stages(url: str) -> list[tuple]:
    return read_table(
        url,
        f"(SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE nspname = '{STAGE_SCHEMA}' AND relkind = 'r') t",
        "1",
    )


def _silver(url: str) -> list[tuple]:
    columns = "order_id, order_ts, customer_id, quantity, unit_price, status, _source_file, "
    return read_table(url, f"(SELECT {columns} _source_row FROM silver.orders) t", "order_id")


@pytest.fixture
def second_pg_url(pg_url):
    """Another throwaway database (the pg_url fixture gives one per test)."""
    from tests.conftest import _server

    name = pg_url.rsplit("/", 1)[1] + "_b"
    with _server() as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + "/" + name
    with _server() as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_loading_ahead_leaves_postgres_exactly_as_loading_after(
    make_project, tmp_path, pg_url, second_pg_url
):
    outcomes = {}
    for ahead, url in ((0, pg_url), (10_000, second_pg_url)):
        project = make_project(url, load_ahead_mb=ahead)
        for path, content in DAYS:
            project.land(path, content)
            (run,) = project.run().runs
            assert run.status == Status.SUCCEEDED, run.error
            staged = run.outputs["Transform"]["staged_rows"]
            repeats = path == "orders/3.csv"
            assert staged == (run.rows_silver if ahead == 0 and not repeats else None), path
            assert _stages(url) == []
        outcomes[ahead] = (_silver(url), read_table(url, "gold.daily_sales", "day"))
        (project.root).rename(tmp_path / f"project-{ahead}")
    assert outcomes[0] == outcomes[10_000]
    silver, gold = outcomes[0]
    assert len(silver) == 7000 and [r[3] for r in silver if r[0] == 7000] == [9]
    assert [(day.day, orders) for day, orders, _ in gold] == [(24, 2000), (25, 2999), (26, 2001)]
    keys = read_table(
        pg_url,
        "(SELECT conname FROM pg_constraint WHERE conrelid = 'silver.orders'::regclass "
        "AND contype = 'p') t",
        "1",
    )
    assert keys == [("orders_pkey",)]  # the adopted stage is keyed and named as a table


def test_postgres_unreachable_while_transforming_loads_from_silver(make_project, pg_url):
    proxy = PgProxy(pg_url)
    try:
        project = make_project(proxy.url, load_ahead_mb=0)
        project.land("orders/1.csv", _orders(range(1, 1001)))
        transform = INGEST.states[1]

        def transform_while_down(ctx: RunContext):
            proxy.down()
            try:
                return transform.task(ctx)
            finally:
                proxy.up()

        down = dataclasses.replace(transform, task=transform_while_down)
        states = (INGEST.states[0], down, INGEST.states[2])
        pipeline = project.pipeline
        runner = Runner(Workflow("ingest", states))
        (run,) = run_pipeline(pipeline, local_ports(pipeline), runner).runs
    finally:
        proxy.close()
    assert run.status == Status.SUCCEEDED, run.error
    assert run.outputs["Transform"]["staged_rows"] is None
    assert [r[0] for r in _silver(pg_url)] == list(range(1, 1001))


def test_a_connection_cut_while_staging_loads_from_silver_once(make_project, pg_url):
    proxy = PgProxy(pg_url)
    try:
        project = make_project(proxy.url, load_ahead_mb=0)
        project.land("orders/1.csv", _orders(range(1, 20_001)))
        proxy.cut_after(150_000)  # inside the stage's COPY, the first connection of the run
        (run,) = project.run().runs
    finally:
        proxy.close()
    assert run.status == Status.SUCCEEDED, run.error
    assert run.outputs["Transform"]["staged_rows"] is None
    (count, distinct), *_ = read_table(
        pg_url, "(SELECT count(*), count(DISTINCT order_id) FROM silver.orders) t", "1"
    )
    assert count == distinct == 20_000
    assert _stages(pg_url) == []


def test_load_takes_a_stage_only_when_it_is_this_runs_and_complete(pg_url):
    table = TableRef("silver", "things")
    rows = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "v": ["a", "b", "c"]})
    other = pa.table({"id": pa.array([9], pa.int64()), "v": ["from silver"]})
    dest = PostgresDestination(pg_url)
    try:
        assert dest.stage(table, rows.to_reader(), ["id"], "run-1") == 3
        for run_id, staged in (("run-2", 3), ("run-1", 4)):  # another run's; a count off
            with dest.transaction():
                loaded = dest.load_staged(
                    table, other.to_reader(), LoadMode.merge, ["id"], run_id, None, staged
                )
            assert loaded == 1
        assert read_table(pg_url, "silver.things", "id") == [(9, "from silver")]
        assert _stages(pg_url) == []  # the run's own stage went with the load that passed it by
    finally:
        dest.close()


def test_new_keys_go_straight_in_and_a_key_loaded_by_hand_is_merged(make_project, pg_url):
    project = make_project(pg_url, load_ahead_mb=10_000)  # small files: loaded after
    hints = []
    for path, content in [
        ("orders/1.csv", _orders(range(1, 3001))),
        ("orders/2.csv", _orders(range(3001, 4001), day=25)),  # new keys: inserted as they are
        # one already there, in the first of several batches
        ("orders/3.csv", _orders(range(4001, 204_001), day=26, quantity=3)),
    ]:
        if path == "orders/3.csv":  # someone loaded order 4001 by hand
            execute(
                pg_url,
                "INSERT INTO silver.orders (order_id, quantity, _run_id) VALUES (4001, 1, '0')",
            )
        project.land(path, content)
        (run,) = project.run().runs
        assert run.status == Status.SUCCEEDED, run.error
        hints.append(run.outputs["Transform"]["new_keys"])
    assert hints == [True, True, True]
    silver = _silver(pg_url)
    assert [r[0] for r in silver] == list(range(1, 204_001))
    assert [(r[3], r[6]) for r in silver if r[0] == 4001] == [(3, "orders/3.csv")]
    assert {r[6] for r in silver if r[0] > 3000} == {"orders/2.csv", "orders/3.csv"}
