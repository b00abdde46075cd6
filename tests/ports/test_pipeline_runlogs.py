"""The whole pipeline with its run log on each adapter: runs, replays and retries give the
same silver, gold, quarantine, destination and alerts whether the run log is the SQLite
metastore or a DynamoDB table."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from medalist.config import Pipeline
from medalist.controller import run_pipeline
from medalist.leases import LeaseExpiry
from medalist.operate import replay_dataset, retry_run
from medalist.runlog import Status
from medalist.wiring import local_ports
from medalist.workflow.context import Ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.aws.emulator import unique
from tests.conftest import HEADER, ORDERS_CONTRACT, read_table
from tests.ports.runlogs import ADAPTERS, Spec

DAY1 = HEADER + (
    "1,2026-11-24 09:00:00,7,1,10.00,PAID\n"
    "2,2026-11-24 10:00:00,7,1,20.00,SHIPPED\n"  # not accepted yet
    "3,2026-11-24 11:00:00,7,1,30.00,PAID\n"
)
DAY2 = HEADER + "1,2026-11-24 09:00:00,7,5,10.00,REFUNDED\n"


@pytest.fixture(params=ADAPTERS, ids=ADAPTERS)
def ports_for(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Ports of a pipeline with the run log on the adapter under test (the rest local)."""
    if request.param == "sqlite":
        return local_ports
    spec = Spec("dynamodb", unique("runs"), request.getfixturevalue("aws_endpoint"))

    def ports(pipeline: Pipeline) -> Ports:
        runlog = spec.open()
        local = local_ports(pipeline)
        return dataclasses.replace(local, runlog=runlog, outbox=runlog, liveness=LeaseExpiry())

    return ports


def test_runs_and_a_replay_give_the_same_lake_and_destination_on_every_run_log(
    make_project, ports_for, tmp_path
):
    destination = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    project = make_project(destination)
    project.land("orders/2026-11-24.csv", DAY1)
    project.land("orders/2026-11-25.csv", DAY2)
    first, second = run_pipeline(project.pipeline, ports_for(project.pipeline)).runs
    assert (first.status, second.status) == (Status.SUCCEEDED, Status.SUCCEEDED)
    assert (first.rows_silver, first.rows_quarantined) == (2, 1)
    assert run_pipeline(project.pipeline, ports_for(project.pipeline)).runs == []  # nothing new

    contract = json.loads(json.dumps(ORDERS_CONTRACT))
    contract["columns"]["status"]["accepted"].append("SHIPPED")
    contract["columns"]["unit_price"]["max"] = 25
    project = make_project(destination, datasets={"orders": contract})
    ports = ports_for(project.pipeline)
    (replay,) = replay_dataset(
        project.pipeline, ports, Runner(INGEST), "orders", file="orders/2026-11-24.csv"
    ).runs

    assert replay.status == Status.SUCCEEDED and replay.replaces == first.run_id
    rows = read_table(destination, "silver.orders", "order_id")
    assert [(r[0], r[3], r[5]) for r in rows] == [(1, 5, "REFUNDED"), (2, 1, "SHIPPED")]
    lake = project.root / "lake"
    assert not (lake / "silver" / "orders" / f"{first.run_id}.parquet").exists()  # swept
    assert sorted(p.name for p in (lake / "silver" / "orders").glob("*.parquet")) == sorted(
        [f"{second.run_id}.parquet", f"{replay.run_id}.parquet"]
    )
    quarantined = project.parquet("quarantine/orders/*.parquet")
    assert [(q["order_id"], q["_rules"]) for q in quarantined] == [("3", ["unit_price:max"])]
    assert read_table(destination, "gold.daily_sales", "day")[0][1:] == (2, 70)
    assert ports.runlog.live_runs("orders") == {second.run_id, replay.run_id}
    assert ports.runlog.heads("shop")["gold"] == replay.run_id
    assert ports.runlog.list(status=Status.RUNNING) == []
    assert ports.outbox.undelivered() == []
    sent = (lake / "_medalist" / "notifications.jsonl").read_text().splitlines()
    assert [(json.loads(s)["event"], json.loads(s)["run_id"]) for s in sent] == [
        ("SUCCESS", first.run_id),
        ("SUCCESS", second.run_id),
        ("SUCCESS", replay.run_id),
    ]


def test_a_failed_load_is_retried_from_where_it_halted_on_every_run_log(make_project, ports_for):
    project = make_project("dummy://?fail=always&kind=terminal")
    project.land("orders/2026-11-24.csv", DAY2)
    ports = ports_for(project.pipeline)
    (failed,) = run_pipeline(project.pipeline, ports, Runner(INGEST, lambda s: None)).runs
    assert failed.status == Status.FAILED and failed.state == "Load"

    project = make_project("dummy://")  # the destination is fixed
    ports = ports_for(project.pipeline)
    (retried,) = retry_run(project.pipeline, ports, Runner(INGEST), failed.run_id[:10]).runs
    assert retried.run_id == failed.run_id and retried.status == Status.SUCCEEDED
    states = [(h.state, h.status) for h in retried.history]
    assert states.count(("Transform", Status.SUCCEEDED)) == 1  # not redone
    assert ports.runlog.get(failed.run_id[:12]).version == retried.version
