"""Athena sees exactly what the run log published (decision 0018): after ordinary runs, a
replay, a failed run and files no committed run owns, each Glue table, resolved the way Athena
resolves a symlink table (location -> every manifest under it -> the objects listed), reads
the same objects and rows as medalist's own readers (`live_silver`, the gold head, the SQL
console)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
import yaml
from ulid import ULID

from medalist.access import User
from medalist.aws import AwsTarget
from medalist.catalog.glue import PARQUET_SERDE, SYMLINK_INPUT, GlueCatalog
from medalist.config import Pipeline
from medalist.contracts.rules import literal
from medalist.controller import run_pipeline
from medalist.errors import TransientError
from medalist.operate import replay_dataset
from medalist.query import Console
from medalist.runlog import Status
from medalist.states.lake import gold_path, live_quarantine, live_silver
from medalist.wiring import local_ports
from medalist.workflow.context import Ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.aws.emulator import REGION, unique
from tests.conftest import HEADER, ORDERS_CONTRACT, Project

DAY1 = HEADER + (
    "1,2026-11-24 09:00:00,7,2,10.00,PAID\n"
    "2,2026-11-24 10:00:00,8,1,5.50,PAID\n"
    "3,2026-11-24 11:00:00,9,1,3.00,PENDING\n"  # not accepted (until the contract is fixed)
)
DAY2 = HEADER + (
    "4,2026-11-25 09:00:00,7,3,1.00,PAID\n"
    "2,2026-11-25 10:00:00,8,4,5.50,REFUNDED\n"  # a correction of order 2
    "5,2026-11-25 11:00:00,9,0,2.00,PAID\n"  # quantity below min: quarantined
)
DAY3_BAD = HEADER + "".join(f"{i},2026-11-26 09:00:00,1,0,1.00,PAID\n" for i in (6, 7, 8))
DAY4 = HEADER + "9,2026-11-27 09:00:00,7,1,9.99,CANCELLED\n"


def athena_objects(glue: Any, database: str, table: str) -> list[str]:
    """The objects Athena reads for a symlink table: every object under its location is a
    manifest (names starting with _ or . are hidden, as in Hive), each line one object."""
    sd = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
    assert sd["InputFormat"] == SYMLINK_INPUT
    assert sd["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
    location = Path(sd["Location"])  # the lake of this test is local; see test_glue_publish
    objects = []
    for manifest in sorted(location.iterdir()):
        if not manifest.name.startswith(("_", ".")):
            objects += manifest.read_text().splitlines()
    return objects


def rows(urls: list[str], sql: str = "SELECT * FROM t") -> list[tuple[Any, ...]]:
    """Rows of Parquet objects, read by DuckDB as Athena would read them (by column name)."""
    if not urls:
        return []
    files = ", ".join(literal(u) for u in urls)
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet([{files}], union_by_name = true)")
        return sorted(con.execute(sql).fetchall(), key=repr)


def console_rows(pipeline: Pipeline, ports: Ports, sql: str) -> list[tuple[Any, ...]]:
    user = User("test", "admin", pipeline.access.roles["admin"])
    result = Console(pipeline, ports, user).run(sql, page_rows=10_000)
    return sorted(result.rows, key=repr)


@pytest.fixture
def lake(make_project: Callable[..., Project], aws_endpoint: str) -> Any:
    contract = {**ORDERS_CONTRACT, "max_bad_rows": 2}
    project = make_project(datasets={"orders": contract})
    database = unique("shop")
    glue = boto3.client("glue", endpoint_url=aws_endpoint, region_name=REGION)

    def ports(pipeline: Pipeline) -> Ports:
        local = local_ports(pipeline)
        catalog = GlueCatalog(database, AwsTarget(REGION, aws_endpoint), local.storage)
        return dataclasses.replace(local, catalog=catalog)

    def check() -> None:
        """Every table Athena has, against what medalist's readers see, right now."""
        pipeline = project.pipeline
        p = ports(pipeline)
        silver = athena_objects(glue, database, "silver_orders")
        assert silver == live_silver(p, "orders")
        latest_wins = (
            "SELECT * FROM t QUALIFY row_number() OVER "
            "(PARTITION BY order_id ORDER BY _run_id DESC, _source_row DESC) = 1"
        )
        assert rows(silver, latest_wins) == console_rows(pipeline, p, "SELECT * FROM silver.orders")
        quarantine = athena_objects(glue, database, "quarantine_orders")
        assert quarantine == live_quarantine(p, "orders")
        assert rows(quarantine) == console_rows(pipeline, p, "SELECT * FROM quarantine.orders")
        gold = athena_objects(glue, database, "gold_daily_sales")
        head = p.runlog.heads("shop")["gold"]
        assert gold == [p.storage.url("gold", gold_path("daily_sales", head))]
        assert rows(gold) == console_rows(pipeline, p, "SELECT * FROM gold.daily_sales")

    project.ports, project.check, project.glue, project.database = ports, check, glue, database
    return project


def test_athena_sees_what_the_run_log_published_through_runs_replay_and_failure(
    lake: Any,
) -> None:
    lake.land("orders/day1.csv", DAY1)
    (first,) = run_pipeline(lake.pipeline, lake.ports(lake.pipeline)).runs
    assert first.status == Status.SUCCEEDED and first.rows_quarantined == 1
    lake.check()

    lake.land("orders/day2.csv", DAY2)
    (second,) = run_pipeline(lake.pipeline, lake.ports(lake.pipeline)).runs
    assert second.status == Status.SUCCEEDED
    lake.check()

    # A contract fix, then a replay of day 1: order 3 moves from quarantine to silver, and
    # day 1's first run (its silver and quarantine files) drops out of every table.
    config = yaml.safe_load(lake.config_path.read_text())
    config["datasets"]["orders"]["columns"]["status"]["accepted"].append("PENDING")
    lake.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    pipeline = lake.pipeline
    outcome = replay_dataset(
        pipeline, lake.ports(pipeline), Runner(INGEST), "orders", file="orders/day1.csv"
    )
    (replay,) = outcome.runs
    assert replay.status == Status.SUCCEEDED and replay.replaces == first.run_id
    lake.check()
    silver = athena_objects(lake.glue, lake.database, "silver_orders")
    assert not any(first.run_id in url for url in silver)
    assert any(replay.run_id in url for url in silver)

    # A run that fails in Transform publishes nothing: the tables stay as they were.
    before = {
        t: athena_objects(lake.glue, lake.database, t)
        for t in ("silver_orders", "quarantine_orders", "gold_daily_sales")
    }
    lake.land("orders/day3.csv", DAY3_BAD)
    (failed,) = run_pipeline(pipeline, lake.ports(pipeline)).runs
    assert failed.status == Status.FAILED and failed.state == "Transform"
    lake.check()
    assert {t: athena_objects(lake.glue, lake.database, t) for t in before} == before

    # Files no committed run owns, where a prefix-based table would have read them: a
    # published file of a run that died before committing, a staged one, an old gold version.
    root = lake.root / "lake"
    stray = str(ULID())
    for leftover in (
        root / "silver" / "orders" / f"{stray}.parquet",
        root / "silver" / "orders" / ".staging" / f"{stray}-orders.parquet",
        root / "gold" / "daily_sales" / f"{stray}.parquet",
    ):
        leftover.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT 666 AS order_id) TO {literal(str(leftover))}")
    lake.land("orders/day4.csv", DAY4)
    (fourth,) = run_pipeline(pipeline, lake.ports(pipeline)).runs
    assert fourth.status == Status.SUCCEEDED
    lake.check()
    everything = [str(p) for p in sorted((root / "silver" / "orders").glob("*.parquet"))]
    assert (666,) in rows(everything, "SELECT order_id FROM t")  # it is there to be seen...
    silver = athena_objects(lake.glue, lake.database, "silver_orders")
    assert (666,) not in rows(silver, "SELECT order_id FROM t")  # ...and Athena does not
    assert sorted(r[0] for r in rows(silver, "SELECT DISTINCT order_id FROM t")) == [
        1,
        2,
        3,
        4,
        9,
    ]


def test_glue_columns_are_the_hive_types_of_the_published_files(lake: Any) -> None:
    lake.land("orders/day1.csv", DAY1)
    run_pipeline(lake.pipeline, lake.ports(lake.pipeline))

    def columns(table: str) -> dict[str, str]:
        found = lake.glue.get_table(DatabaseName=lake.database, Name=table)["Table"]
        return {c["Name"]: c["Type"] for c in found["StorageDescriptor"]["Columns"]}

    assert columns("silver_orders") == {
        "order_id": "bigint",
        "order_ts": "timestamp",
        "customer_id": "bigint",
        "quantity": "int",
        "unit_price": "decimal(12,2)",
        "status": "string",
        "_run_id": "string",
        "_source_file": "string",
        "_source_row": "bigint",
        "_ingested_at": "timestamp",
    }
    assert columns("gold_daily_sales") == {
        "day": "date",
        "orders": "bigint",
        "revenue": "decimal(38,2)",
    }
    assert columns("quarantine_orders")["_rules"] == "array<string>"


class Flaky:
    """The catalog, failing its next `failures` publishes as an unreachable Glue would."""

    def __init__(self, inner: GlueCatalog, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def publish(self, tables: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise TransientError("Glue table shop.silver_orders: ServiceUnavailable")
        self.inner.publish(tables)


def test_a_failed_publish_leaves_the_run_standing_and_the_next_commit_repairs_it(
    lake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    lake.land("orders/day1.csv", DAY1)
    run_pipeline(lake.pipeline, lake.ports(lake.pipeline))
    before = athena_objects(lake.glue, lake.database, "silver_orders")

    def flaky_ports(failures: int) -> Ports:
        ports = lake.ports(lake.pipeline)
        return dataclasses.replace(ports, catalog=Flaky(ports.catalog, failures))

    # Both commits of the run fail to publish: the run stands; Athena still shows day 1 only.
    lake.land("orders/day2.csv", DAY2)
    (second,) = run_pipeline(lake.pipeline, flaky_ports(2)).runs
    assert second.status == Status.SUCCEEDED
    assert "the catalog's tables are not updated yet" in capsys.readouterr().err
    assert athena_objects(lake.glue, lake.database, "silver_orders") == before

    # The next run's commits rewrite the tables whole, its Transform's publish failing too.
    lake.land("orders/day4.csv", DAY4)
    (fourth,) = run_pipeline(lake.pipeline, flaky_ports(1)).runs
    assert fourth.status == Status.SUCCEEDED
    lake.check()
    assert len(athena_objects(lake.glue, lake.database, "silver_orders")) == 3
