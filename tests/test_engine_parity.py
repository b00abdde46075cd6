"""Every pipeline scenario on both engines: DuckDB and Spark give the same silver, quarantine
(rows, rules, reasons), gold and destination tables. One suite, parameterised by scenario; each
scenario runs once per engine and the outputs are compared. Spark starts once per test session
(the `spark` fixture), on local[2]."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from medalist.engine.spark.session import spark_session, stop_session
from medalist.operate import replay_dataset, retry_run
from medalist.runlog import Status
from medalist.storage.local import _STAGING as STAGING
from medalist.wiring import local_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT, Project

# one JVM for the whole session: these tests share one xdist worker
pytestmark = pytest.mark.xdist_group("spark")

SPARK = {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": "2"}}
ENGINES = ["duckdb", "spark"]
LINEAGE = ("_run_id", "_ingested_at")  # differ between any two runs, whatever the engine

EVERY_RULE = {
    **ORDERS_CONTRACT,
    "columns": {
        **ORDERS_CONTRACT["columns"],
        "quantity": {"type": "integer", "min": 1, "max": 100},
        "coupon": {"type": "varchar", "pattern": "[A-Z]{2}[0-9]+", "min_length": 3},
        "note": {"type": "varchar", "max_length": 5},
        "ship_day": {"type": "date", "format": "%d/%m/%Y"},
    },
    "rules": [
        {"name": "priced", "check": "unit_price * quantity < 1000"},
        {"name": "odd_customer", "check": "customer_id <> 13", "on_fail": "warn"},
    ],
}
EVERY_RULE_FILE = (
    "order_id,order_ts,customer_id,quantity,unit_price,status,coupon,note,ship_day\n"
    "1,2026-11-24 09:00:00,7,2,10.00,PAID,AB12,ok,24/11/2026\n"
    "2,not a time,7,2,10.00,PAID,AB12,ok,24/11/2026\n"
    ",2026-11-24 09:00:00,7,2,10.00,PAID,AB12,ok,24/11/2026\n"
    "3,2026-11-24 09:00:00,7,0,10.00,PAID,AB12,ok,24/11/2026\n"
    "4,2026-11-24 09:00:00,7,500,10.00,PAID,AB12,ok,24/11/2026\n"
    "5,2026-11-24 09:00:00,7,2,10.00,LOST,AB12,ok,24/11/2026\n"
    "6,2026-11-24 09:00:00,7,2,10.00,PAID,ab,ok,24/11/2026\n"
    "7,2026-11-24 09:00:00,7,2,10.00,PAID,AB12,too long,24/11/2026\n"
    "8,2026-11-24 09:00:00,7,2,10.00,PAID,AB12,ok,2026-11-24\n"
    "9,2026-11-24 09:00:00,13,90,99.00,PAID,AB12,ok,1/12/2026\n"
    "10,2026-11-24 09:00:00,13,2,-1,REFUNDED,,,\n"
    "11,2026-11-24 09:00:00\n"
    "12,2026-11-25 10:30:00, 8 ,3,1.5,CANCELLED,ZZ9,é,31/12/2026\n"
    "12,2026-11-25 11:30:00,8,4,1.5,PAID,ZZ9,,\n"
)


def orders(ids: range, day: int, quantity: int = 1, price: str = "2.50") -> str:
    rows = (f"{i},2026-11-{day} 09:00:00,{i % 7},{quantity},{price},PAID\n" for i in ids)
    return HEADER + "".join(rows)


@pytest.fixture(scope="session")
def spark() -> Iterator[None]:
    """One SparkSession (one JVM) for the whole test session, as pipelines ask for it."""
    spark_session(SPARK["master"], SPARK["conf"])
    yield
    stop_session()


class Scenario:
    """One pipeline history, played on one engine."""

    def __init__(self, root: Path, engine: str, destination: str) -> None:
        self.root, self.engine, self.destination = root, engine, destination

    def project(self, **config: Any) -> Project:
        self.root.mkdir(parents=True, exist_ok=True)
        base: dict[str, Any] = {
            "name": "shop",
            "engine": self.engine,
            "spark": SPARK,
            "datasets": {"orders": ORDERS_CONTRACT},
            "models": {"daily_sales": DAILY_SALES},
            "notifications": [{"type": "file"}],
            "destination": self.destination,
        }
        return Project(self.root, base | config)


def every_rule_kind(s: Scenario) -> list[Any]:
    project = s.project(datasets={"orders": EVERY_RULE})
    project.land("orders/2026-11-24.csv", EVERY_RULE_FILE)
    return [project.run()]


CUSTOMERS = {
    "source": "customers/*.csv",
    "primary_key": ["customer_id"],
    "columns": {
        "customer_id": {"type": "bigint", "required": True},
        "email": {"unique": True},
    },
}


def unique_and_references_look_at_silver(s: Scenario) -> list[Any]:
    referencing = {
        **ORDERS_CONTRACT,
        "columns": {
            **ORDERS_CONTRACT["columns"],
            "customer_id": {"type": "bigint", "references": "customers.customer_id"},
        },
    }
    project = s.project(datasets={"customers": CUSTOMERS, "orders": referencing})
    # d@x twice in the file: the later row keeps it; 4 appears twice: latest wins
    project.land("customers/1.csv", "customer_id,email\n1,a@x\n2,b@x\n4,d@x\n5,d@x\n6,\n")
    project.land(
        "orders/1.csv",
        HEADER + "10,2026-11-24 09:00:00,1,1,1.00,PAID\n11,2026-11-24 09:00:00,3,1,1.00,PAID\n"
        "12,2026-11-24 09:00:00,,1,1.00,PAID\n",
    )
    first = project.run()
    # 3 takes 1's email (taken in silver); 2 keeps its own; 7 a fresh one
    project.land("customers/2.csv", "customer_id,email\n3,a@x\n2,b@x\n7,g@x\n")
    return [first, project.run()]


def csv_dialect_and_skipped_lines(s: Scenario) -> list[Any]:
    csv = {"delimiter": ";", "decimal_separator": ",", "null_values": ["", "NA"], "skip_rows": 2}
    project = s.project(datasets={"orders": {**ORDERS_CONTRACT, "csv": csv}})
    project.land(
        "orders/export.csv",
        "Shop export;of;the;day\nGenerated 2026-11-24\n"
        + HEADER.replace(",", ";")
        + "1;2026-11-24 09:00:00;NA;2;12,50;PAID\n2;2026-11-24 09:00:00;7;1;0,99;PAID\n"
        "3;2026-11-24 09:00:00;7;x;1,00;PAID\n4;2026-11-24\n5;2026-11-24 09:00:00;7;1;2;LOST\n",
    )
    return [project.run()]


def latest_wins_across_files_and_gold_merges(s: Scenario) -> list[Any]:
    project = s.project()
    project.land("orders/2026-11-24.csv", orders(range(1, 40), 24))
    first = project.run()
    project.land("orders/2026-11-25.csv", orders(range(40, 60), 25))  # only adds: gold merges
    second = project.run()
    project.land("orders/2026-11-26.csv", orders(range(30, 45), 26, quantity=3))  # corrections
    return [first, second, project.run()]


def drift(policy: str) -> Callable[[Scenario], list[Any]]:
    def play(s: Scenario) -> list[Any]:
        project = s.project(datasets={"orders": {**ORDERS_CONTRACT, "on_schema_drift": policy}})
        project.land("orders/2026-11-24.csv", orders(range(1, 5), 24))
        first = project.run()
        project.land(
            "orders/2026-11-25.csv",
            "order_id,order_ts,customer_id,quantity,unit_price,coupon\n"
            "5,2026-11-25 09:00:00,7,1,5.00,XMAS\n6,2026-11-25 09:00:00,7,1,x,XMAS\n",
        )
        return [first, project.run()]

    return play


def replay_after_a_contract_fix(s: Scenario) -> list[Any]:
    project = s.project()
    project.land("orders/2026-11-24.csv", orders(range(1, 6), 24, quantity=0))  # all below min
    first = project.run()
    fixed = {
        **ORDERS_CONTRACT,
        "columns": {**ORDERS_CONTRACT["columns"], "quantity": {"type": "integer"}},
    }
    project = s.project(datasets={"orders": fixed})
    pipeline = project.pipeline
    return [first, replay_dataset(pipeline, local_ports(pipeline), Runner(INGEST), "orders")]


def retry_after_load_failed(s: Scenario) -> list[Any]:
    project = s.project(destination=f"dummy://{s.engine}?fail=always&kind=terminal")
    project.land("orders/2026-11-24.csv", orders(range(1, 9), 24))
    (failed,) = (first := project.run()).runs
    project = s.project()
    pipeline = project.pipeline
    return [first, retry_run(pipeline, local_ports(pipeline), Runner(INGEST), failed.run_id)]


def a_burst_in_one_batch(s: Scenario) -> list[Any]:
    project = s.project()
    project.land("orders/2026-11-24.csv", orders(range(1, 9), 24))
    project.land("orders/2026-11-25.csv", orders(range(9, 12), 25) + "12,x,7,0,1.00,LOST\n")
    project.land(  # a line with a field too many: DuckDB validates this file alone
        "orders/2026-11-26.csv", orders(range(5, 7), 26, quantity=3) + "7,2026-11-26,1,1,1,PAID,+\n"
    )
    return [project.run()]


SCENARIOS = {
    "every_rule_kind": every_rule_kind,
    "unique_and_references_look_at_silver": unique_and_references_look_at_silver,
    "csv_dialect_and_skipped_lines": csv_dialect_and_skipped_lines,
    "latest_wins_across_files_and_gold_merges": latest_wins_across_files_and_gold_merges,
    "drift_fail": drift("fail"),
    "drift_evolve": drift("evolve"),
    "drift_ignore": drift("ignore"),
    "replay_after_a_contract_fix": replay_after_a_contract_fix,
    "retry_after_load_failed": retry_after_load_failed,
    "a_burst_in_one_batch": a_burst_in_one_batch,
}


def outputs(root: Path, outcomes: list[Any]) -> dict[str, Any]:
    """What a user sees of a history: each run's status and counts, and every table's rows
    (lineage that differs between any two runs left out)."""
    runs = [
        (
            r.status,
            r.state if r.status != Status.SUCCEEDED else None,
            r.rows_silver,
            r.rows_quarantined,
            r.rows_loaded,
            r.rule_counts,
            (r.error or {}).get("message"),
            (r.outputs.get("Transform") or {}).get("gold_merged"),  # incremental gold
        )
        for outcome in outcomes
        for r in outcome.runs
    ]
    lake = root / "lake"
    seen: dict[str, Any] = {"runs": runs}
    with duckdb.connect() as con:
        for zone in ("silver", "quarantine", "gold"):
            files = sorted(
                str(f) for f in (lake / zone).rglob("*.parquet") if STAGING not in f.parts
            )
            seen[zone] = (
                _rows(con, f"read_parquet({files!r}, union_by_name = true)") if files else []
            )
        warehouse = root / "warehouse.duckdb"
        if warehouse.exists():
            con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
            for table in ("silver.orders", "silver.customers", "gold.daily_sales"):
                if con.sql(
                    "SELECT 1 FROM duckdb_tables() WHERE database_name = 'wh' AND "
                    f"schema_name || '.' || table_name = '{table}'"
                ).fetchall():
                    seen[table] = _rows(con, f"wh.{table}")
    return seen


def _rows(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[Any, ...]]:
    rel = con.sql(f"SELECT * FROM {relation}")
    keep = [c for c in rel.columns if c not in LINEAGE]
    listed = ", ".join('"' + c + '"' for c in keep)
    rows = con.sql(f"SELECT {listed} FROM {relation}").fetchall()
    return [tuple(keep), *sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)]


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


@pytest.mark.parametrize("name", SCENARIOS)
def test_spark_gives_what_duckdb_gives(name: str, tmp_path: Path, spark: None) -> None:
    seen = {}
    for engine in ENGINES:
        root = tmp_path / engine
        scenario = Scenario(root, engine, f"duckdb:///{root / 'warehouse.duckdb'}")
        seen[engine] = outputs(root, SCENARIOS[name](scenario))
    duck, spark_seen = seen["duckdb"], seen["spark"]
    assert duck["runs"] and any(r[0] == Status.SUCCEEDED for r in duck["runs"])
    if name == "latest_wins_across_files_and_gold_merges":  # the second file merged into gold
        assert [r[-1] for r in duck["runs"]] == [[], ["daily_sales"], []]
    for part in duck:
        assert spark_seen.get(part) == duck[part], part
