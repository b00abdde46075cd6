"""The whole pipeline on real files, a real engine and both real destinations."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import duckdb
import psycopg

import medalist.engine.duckdb as duckdb_engine
import medalist.engine.duckdb.validation as duckdb_validation
from medalist.controller import run_pipeline
from medalist.runlog import Status
from medalist.storage.local import LocalStorage
from medalist.wiring import local_ports
from tests.conftest import HEADER, ORDERS_CONTRACT, read_table

# One row per contract rule, one row breaking three rules, and a re-sent key (latest wins).
MIXED = HEADER + (
    "1,2026-11-24 09:00:00,7,2,10.00,PAID\n"
    "2,2026-11-24 10:00:00,8,0,5.00,PAID\n"
    "3,,9,1,5.00,PAID\n"
    "4,2026-11-24 11:00:00,9,two,5.00,PAID\n"
    "5,2026-11-24 12:00:00,9,1,-1.00,PAID\n"
    "6,2026-11-24 13:00:00,9,1,3.00,SHIPPED\n"
    ",2026-11-24 14:00:00,9,1,3.00,PAID\n"
    '7,2026-11-24 15:00:00,9,0,"12,50",LOST\n'
    "8,2026-11-24 16:00:00,10,1,1.00,PAID\n"
    "8,2026-11-24 17:00:00,10,3,1.00,REFUNDED\n"
)
EXPECTED_RULES = {
    "2": (["quantity:min"], 3),
    "3": (["order_ts:required"], 4),
    "4": (["quantity:type"], 5),
    "5": (["unit_price:min"], 6),
    "6": (["status:accepted"], 7),
    None: (["order_id:required"], 8),
    "7": (["quantity:min", "unit_price:type", "status:accepted"], 9),
}


def _notifications(project) -> list[dict]:
    path = project.root / "lake" / "_medalist" / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_bad_rows_go_to_quarantine_with_every_rule_and_the_rest_reaches_the_destination(
    make_project, destination
):
    project = make_project(destination)
    project.land("orders/2026-11-24.csv", MIXED)

    (run,) = project.run().runs

    assert run.status == Status.SUCCEEDED, run.error
    assert (run.rows_in, run.rows_silver, run.rows_quarantined) == (10, 2, 7)
    assert run.rule_counts["quantity:min"] == 2
    assert run.rule_counts["primary_key:duplicate"] == 1
    quarantined = {r["order_id"]: r for r in project.parquet("quarantine/orders/*.parquet")}
    assert set(quarantined) == set(EXPECTED_RULES)
    for order_id, (rules, line) in EXPECTED_RULES.items():
        row = quarantined[order_id]
        assert row["_rules"] == rules, order_id
        assert row["_source_file"] == "orders/2026-11-24.csv"
        assert row["_run_id"] == run.run_id
        assert row["_source_row"] == line - 1  # data rows count from 1; the header is line 1
    assert quarantined["7"]["unit_price"] == "12,50"  # kept exactly as delivered
    assert quarantined["7"]["_reason"] == (
        "quantity 0 is below the minimum 1; unit_price: '12,50' is not a valid decimal(12,2); "
        "status 'LOST' is not one of PAID, REFUNDED, CANCELLED"
    )
    silver = read_table(destination, "silver.orders", "order_id")
    assert [(r[0], r[3], r[5]) for r in silver] == [(1, 2, "PAID"), (8, 3, "REFUNDED")]
    assert silver[1][6] == run.run_id and silver[1][9] == 10  # lineage: run and source row
    gold = read_table(destination, "gold.daily_sales", "day")
    assert gold == [(date(2026, 11, 24), 2, Decimal("23.00"))]
    (note,) = _notifications(project)
    assert note["event"] == "SUCCESS" and note["rows_quarantined"] == 7


def test_second_run_creates_no_run_and_changes_nothing(make_project, destination):
    project = make_project(destination)
    project.land("orders/2026-11-24.csv", MIXED)
    project.run()
    lake = project.root / "lake"
    before = {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}
    tables = (
        read_table(destination, "silver.orders", "order_id"),
        read_table(destination, "gold.daily_sales", "day"),
    )

    outcome = project.run()

    assert outcome.runs == [] and outcome.busy == []
    assert {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")} == before
    assert (
        read_table(destination, "silver.orders", "order_id"),
        read_table(destination, "gold.daily_sales", "day"),
    ) == tables
    assert len(_notifications(project)) == 1


def test_unreadable_file_fails_its_run_alerts_and_changes_nothing(make_project, destination):
    project = make_project(destination)
    project.land("orders/2026-11-24.csv", MIXED)
    project.run()
    lake = project.root / "lake"
    before = {p: p.read_bytes() for p in lake.glob("[sg]*/**/*.parquet")}
    tables = read_table(destination, "silver.orders", "order_id")
    broken = project.land("orders/2026-11-25.csv", b"\x00\x01\x02order_id\xff\xfe,\x81\n\xc3(")

    (run,) = project.run().runs

    assert run.status == Status.FAILED and run.state == "Crawl"
    assert run.error["file"] == "landing/orders/2026-11-25.csv"
    assert "not utf-8" in run.error["message"] and "under a new name" in run.error["message"]
    fail = _notifications(project)[-1]
    assert fail["event"] == "FAIL" and fail["state"] == "Crawl"
    assert fail["reason"] == run.error["message"]
    assert {p: p.read_bytes() for p in lake.glob("[sg]*/**/*.parquet")} == before
    assert read_table(destination, "silver.orders", "order_id") == tables
    assert broken.exists()  # landing is never modified


def test_a_later_file_updates_rows_by_primary_key(make_project, destination):
    project = make_project(destination)
    project.land(
        "orders/2026-11-24.csv",
        HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n2,2026-11-24 10:00:00,7,1,5.00,PAID\n",
    )
    project.land(
        "orders/2026-11-25.csv",
        HEADER + "1,2026-11-24 09:00:00,7,2,10.00,REFUNDED\n3,2026-11-25 10:00:00,8,1,4.00,PAID\n",
    )

    runs = project.run().runs

    assert [r.status for r in runs] == [Status.SUCCEEDED] * 2
    silver = read_table(destination, "silver.orders", "order_id")
    assert [(r[0], r[5]) for r in silver] == [(1, "REFUNDED"), (2, "PAID"), (3, "PAID")]
    gold = read_table(destination, "gold.daily_sales", "day")
    assert [(g[0].day, g[1]) for g in gold] == [(24, 2), (25, 1)]


def test_missing_required_column_fails_in_crawl_naming_it(make_project, tmp_path: Path):
    project = make_project()
    project.land("orders/x.csv", "order_id,quantity\n1,2\n")

    (run,) = project.run().runs

    assert run.status == Status.FAILED and run.state == "Crawl"
    assert run.error["column"] == "order_ts"
    assert (
        "required column(s) order_ts missing; the file has order_id, quantity"
        in (run.error["message"])
    )


def test_columns_match_headers_ignoring_case_and_extra_columns_are_ignored(make_project):
    project = make_project()
    project.land("orders/x.csv", "ORDER_ID,Order_TS,note\n1,2026-11-24 09:00:00,hello\n")

    (run,) = project.run().runs

    assert run.status == Status.SUCCEEDED, run.error
    assert run.outputs["Crawl"]["ignored_columns"] == ["note"]
    (row,) = project.parquet("silver/orders/*.parquet")
    assert row["order_id"] == 1 and "note" not in row
    assert [row[c] for c in ("customer_id", "quantity", "unit_price", "status")] == [None] * 4


def test_every_format_is_read_gzip_included(make_project):
    datasets = {}
    for fmt in ("csv", "tsv", "jsonl", "json", "parquet"):
        datasets[fmt] = {**_order_contract(), "source": f"{fmt}/*"}
    project = make_project(datasets=datasets, models={})
    rows = [(1, "2026-11-24 09:00:00", 2), (2, "2026-11-24 10:00:00", 3)]
    csv = "order_id,order_ts,quantity\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    project.land("csv/a.csv.gz", gzip.compress(csv.encode()))
    project.land("tsv/a.tsv", csv.replace(",", "\t"))
    lines = [json.dumps({"order_id": a, "order_ts": b, "quantity": c}) for a, b, c in rows]
    project.land("jsonl/a.jsonl", "\n".join(lines) + "\n")
    project.land("json/a.json", "[" + ",".join(lines) + "]")
    parquet = project.landing / "parquet" / "a.parquet"
    parquet.parent.mkdir(parents=True)
    duckdb.connect().execute(
        f"COPY (SELECT * FROM (VALUES (1, TIMESTAMP '2026-11-24 09:00:00', 2), "
        f"(2, TIMESTAMP '2026-11-24 10:00:00', 3)) t(order_id, order_ts, quantity)) "
        f"TO '{parquet}'"
    ).fetchall()

    runs = project.run().runs

    assert {r.dataset: (r.status, r.rows_silver) for r in runs} == {
        fmt: (Status.SUCCEEDED, 2) for fmt in datasets
    }, [r.error for r in runs]


def _order_contract() -> dict:
    return {
        "primary_key": ["order_id"],
        "columns": {
            "order_id": {"type": "bigint", "required": True},
            "order_ts": {"type": "timestamp", "required": True},
            "quantity": {"type": "integer", "min": 1},
        },
    }


def test_files_already_processed_are_not_read_again_unless_they_change(make_project):
    class CountingStorage(LocalStorage):
        hashed: ClassVar[list[str]] = []

        def checksum(self, zone, path):
            self.hashed.append(path)
            return super().checksum(zone, path)

    project = make_project()
    landed = project.land("orders/a.csv", MIXED)  # landed just now: a burst of files is like this
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    ports.storage = CountingStorage(pipeline.lake_path)
    assert len(run_pipeline(pipeline, ports).runs) == 1
    assert CountingStorage.hashed == ["orders/a.csv"]

    assert run_pipeline(pipeline, ports).runs == []
    assert CountingStorage.hashed == ["orders/a.csv"]  # not read again

    os.utime(landed, (landed.stat().st_atime, landed.stat().st_mtime + 5))  # touched, same bytes
    assert run_pipeline(pipeline, ports).runs == []
    assert CountingStorage.hashed == ["orders/a.csv"] * 2  # read again: nothing new in it

    landed.write_text(MIXED.replace("SHIPPED", "PAID"))  # same size, new content, new mtime
    (run,) = run_pipeline(pipeline, ports).runs
    assert run.rows_quarantined == 6


def test_postgres_gets_each_runs_lineage_and_a_primary_key(make_project, pg_url):
    project = make_project(pg_url)
    project.land("orders/a.csv", HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n")
    (first,) = project.run().runs
    project.land(
        "orders/b.csv",
        HEADER + "1,2026-11-24 09:00:00,7,3,10.00,PAID\n2,2026-11-24 09:00:00,7,1,1.00,PAID\n",
    )
    (second,) = project.run().runs  # the merge path this time

    rows = read_table(
        pg_url,
        "(SELECT order_id, _run_id, _source_file, _ingested_at, _source_row FROM silver.orders) t",
        "order_id",
    )
    silver = {
        r["order_id"]: r
        for r in project.parquet("silver/orders/*.parquet")
        if r["_run_id"] == second.run_id
    }
    assert [r[:3] for r in rows] == [
        (1, second.run_id, "orders/b.csv"),
        (2, second.run_id, "orders/b.csv"),
    ]
    assert [r[3] for r in rows] == [silver[1]["_ingested_at"], silver[2]["_ingested_at"]]
    assert [r[4] for r in rows] == [1, 2]
    with psycopg.connect(pg_url) as con:
        keys = con.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = "
            "'silver.orders'::regclass AND contype = 'p'"
        ).fetchone()[0]
        defaults = con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE "
            "table_schema = 'silver' AND column_default IS NOT NULL"
        ).fetchone()[0]
    assert keys == 1 and defaults == 0 and first.status == Status.SUCCEEDED


def test_a_file_too_big_for_memory_gives_the_same_outputs_and_leaves_no_scratch(
    make_project, tmp_path: Path, monkeypatch
):
    """Files over a share of the memory budget are held in a scratch database file instead of
    in memory: same silver and quarantine, and the scratch file goes when the run ends. (Only
    contracts whose rules look beyond one row hold the file: a warn rule makes this one.)"""
    outputs, placed = [], []
    place = duckdb_engine.DuckDBEngine._place_landed

    def spy(engine, file):
        place(engine, file)
        placed.append(engine._landed)

    monkeypatch.setattr(duckdb_engine.DuckDBEngine, "_place_landed", spy)
    for share in (0.5, 0.0):  # 0.0: every file counts as too big
        monkeypatch.setattr(duckdb_validation, "IN_MEMORY_SHARE", share)
        warned = {
            **ORDERS_CONTRACT,
            "rules": [{"name": "never", "check": "true", "on_fail": "warn"}],
        }
        project = make_project(datasets={"orders": warned})
        project.land("orders/a.csv", MIXED)
        (run,) = project.run().runs
        assert run.status == Status.SUCCEEDED
        drop = {"_run_id", "_ingested_at"}
        outputs.append(
            [
                [{k: v for k, v in row.items() if k not in drop} for row in project.parquet(zone)]
                for zone in ("silver/orders/*.parquet", "quarantine/orders/*.parquet")
            ]
        )
        assert list((project.root / "lake" / "_medalist" / "tmp").glob("scratch-*")) == []
        shutil.rmtree(project.root)
    assert outputs[0] == outputs[1]
    assert [len(rows) for rows in outputs[0]] == [2, 7]
    assert placed == ["landed", "scratch.landed"]
