"""Failures never lose or duplicate a row: PostgreSQL going away during Load, `retry` of the
failed run, `replay` after a contract fix, and the leases and locks that keep runs apart."""

from __future__ import annotations

import json
import os
import socket
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.controller import _claim, run_pipeline
from medalist.errors import Refused
from medalist.leases import Heartbeat
from medalist.metastore import now
from medalist.operate import replay_dataset, retry_run
from medalist.runlog import Status
from medalist.wiring import local_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.conftest import HEADER, ORDERS_CONTRACT, execute, read_table
from tests.proxy import PgProxy

cli = CliRunner()


def orders(ids: range, day: int = 24, quantity: int = 1, status: str = "PAID") -> str:
    rows = (f"{i},2026-11-{day} 09:00:00,{i % 7},{quantity},2.50,{status}\n" for i in ids)
    return HEADER + "".join(rows)


def run_with(project, sleeps: list[float]):
    pipeline = project.pipeline
    return run_pipeline(pipeline, local_ports(pipeline), Runner(INGEST, sleeps.append))


def notifications(project) -> list[dict]:
    path = project.root / "lake" / "_medalist" / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def proxy(pg_url):
    proxy = PgProxy(pg_url)
    yield proxy
    proxy.close()


def test_postgres_down_during_load_fails_after_backoff_then_retry_loads_exactly_once(
    make_project, pg_url, proxy
):
    project = make_project(proxy.url)
    project.land("orders/2026-11-24.csv", orders(range(1, 501)))
    proxy.down()
    sleeps: list[float] = []

    (failed,) = run_with(project, sleeps).runs

    assert failed.status == Status.FAILED and failed.state == "Load"
    assert sleeps == [2.0, 4.0, 8.0]  # the workflow's Load policy, then the failure path
    assert failed.error["kind"] == "transient" and "PostgreSQL" in failed.error["message"]
    alert = notifications(project)[-1]
    assert alert["event"] == "FAIL" and alert["state"] == "Load"
    assert alert["run_id"] == failed.run_id

    proxy.up()
    pipeline = project.pipeline
    (retried,) = retry_run(pipeline, local_ports(pipeline), Runner(INGEST), failed.run_id).runs

    assert retried.run_id == failed.run_id and retried.status == Status.SUCCEEDED
    assert any(h.detail and h.detail.startswith("retry requested") for h in retried.history)
    ids = [row[0] for row in read_table(pg_url, "silver.orders", "order_id")]
    assert ids == list(range(1, 501))
    assert read_table(pg_url, "gold.daily_sales", "day")[0][1] == 500
    assert notifications(project)[-1]["event"] == "SUCCESS"
    with pytest.raises(Refused, match="SUCCEEDED; there is nothing to retry"):
        retry_run(pipeline, local_ports(pipeline), Runner(INGEST), failed.run_id)


def test_connection_cut_in_the_middle_of_copy_retries_and_loads_each_row_once(
    make_project, pg_url, proxy
):
    project = make_project(proxy.url)
    project.land("orders/2026-11-24.csv", orders(range(1, 20_001)))
    proxy.cut_after(200_000)  # about a third of the COPY stream
    sleeps: list[float] = []

    (run,) = run_with(project, sleeps).runs

    assert run.status == Status.SUCCEEDED, run.error
    loads = [h for h in run.history if h.state == "Load" and h.status == Status.RUNNING]
    assert [h.attempt for h in loads] == [1, 2] and sleeps == [2.0]
    assert "PostgreSQL failed during load of silver.orders" in loads[1].detail
    (count, distinct), *_ = read_table(
        pg_url, "(SELECT count(*), count(DISTINCT order_id) FROM silver.orders) t", "1"
    )
    assert count == distinct == 20_000


def test_retry_refuses_a_file_that_changed_and_names_what_to_do(make_project, tmp_path):
    project = make_project(f"dummy://always/{tmp_path.name}?fail=always&kind=terminal")
    landed = project.land("orders/2026-11-24.csv", orders(range(1, 4)))
    (failed,) = project.run().runs
    landed.write_text(orders(range(1, 5)))

    result = cli.invoke(app, ["retry", failed.run_id[:12], "-c", str(project.config_path)])

    assert result.exit_code == 2
    assert "landing/orders/2026-11-24.csv changed since run" in result.output
    assert "`medalist run` processes the new content as a new run" in result.output


def test_replay_after_a_contract_fix_replaces_the_files_rows_and_keeps_later_corrections(
    make_project, destination
):
    project = make_project(destination)
    day1 = HEADER + (
        "1,2026-11-24 09:00:00,7,1,10.00,PAID\n"
        "2,2026-11-24 10:00:00,7,1,20.00,SHIPPED\n"  # not accepted yet
        "3,2026-11-24 11:00:00,7,1,30.00,PAID\n"
    )
    project.land("orders/2026-11-24.csv", day1)
    project.land("orders/2026-11-25.csv", HEADER + "1,2026-11-24 09:00:00,7,5,10.00,REFUNDED\n")
    first, _ = project.run().runs
    assert (first.rows_silver, first.rows_quarantined) == (2, 1)

    # The contract learns SHIPPED, and now wants order 3's price above 25: replaying day 1
    # brings order 2 in and order 3 stays; order 1 keeps day 2's correction.
    contract = json.loads(json.dumps(ORDERS_CONTRACT))
    contract["columns"]["status"]["accepted"].append("SHIPPED")
    contract["columns"]["unit_price"]["max"] = 25
    project = make_project(destination, datasets={"orders": contract})
    pipeline = project.pipeline

    outcome = replay_dataset(
        pipeline, local_ports(pipeline), Runner(INGEST), "orders", file="orders/2026-11-24.csv"
    )

    (replay,) = outcome.runs
    assert replay.status == Status.SUCCEEDED and replay.replaces == first.run_id
    assert (replay.rows_silver, replay.rows_quarantined) == (2, 1)
    rows = read_table(destination, "silver.orders", "order_id")
    assert [(r[0], r[3], r[5]) for r in rows] == [(1, 5, "REFUNDED"), (2, 1, "SHIPPED")]
    lake = project.root / "lake"
    assert not (lake / "silver" / "orders" / f"{first.run_id}.parquet").exists()
    quarantined = project.parquet("quarantine/orders/*.parquet")
    assert [(q["order_id"], q["_rules"]) for q in quarantined] == [("3", ["unit_price:max"])]
    assert read_table(destination, "gold.daily_sales", "day")[0][1:] == (2, 70)

    again = replay_dataset(pipeline, local_ports(pipeline), Runner(INGEST), "orders")
    assert len(again.runs) == 2  # both files, each replacing its latest run: no duplicates
    assert len(read_table(destination, "silver.orders", "order_id")) == 2


def test_replay_since_a_day_and_of_an_unknown_file(make_project):
    project = make_project()
    project.land("orders/a.csv", orders(range(1, 3)))
    project.run()
    config = str(project.config_path)

    later = cli.invoke(app, ["replay", "orders", "--since", "2999-01-01", "-c", config])
    assert later.exit_code == 0 and "Nothing to replay." in later.output
    unknown = cli.invoke(app, ["replay", "orders", "--file", "orders/zzz.csv", "-c", config])
    assert unknown.exit_code == 2 and "no run of orders processed 'orders/zzz.csv'" in (
        unknown.output
    )
    today = cli.invoke(app, ["replay", "orders", "--since", str(now().date()), "-c", config])
    assert today.exit_code == 0 and "SUCCEEDED" in today.output
    replay = local_ports(project.pipeline).runlog.list(limit=1)[0]
    shown = cli.invoke(app, ["show", replay.run_id, "-c", config])
    assert f"replaces  {replay.replaces} (this run is a replay of its file)" in shown.output


def test_a_run_held_by_a_live_process_is_reported_and_never_taken_over(make_project):
    project = make_project()
    project.land("orders/a.csv", orders(range(1, 3)))
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    landed = ports.storage.find("landing", "orders/*.csv")[0]
    digest = ports.storage.checksum("landing", landed.path)
    holder = Runner(INGEST)  # this very process: alive
    claimed, _ = _claim(pipeline, ports, holder, "orders", landed, digest)

    outcome = project.run()

    assert outcome.runs == [] and outcome.busy == ["orders/a.csv"]
    assert ports.runlog.get(claimed.run_id).lease_owner == holder.owner


def test_the_pipeline_lock_passes_from_a_dead_holder_and_waits_for_a_live_one(make_project):
    project = make_project()
    project.land("orders/a.csv", orders(range(1, 3)))
    pipeline = project.pipeline
    runlog = local_ports(pipeline).runlog
    name = f"pipeline:{pipeline.name}"
    dead_pid = os.fork()
    if dead_pid == 0:  # the child exits at once: its pid names a dead process
        os._exit(0)
    os.waitpid(dead_pid, 0)
    assert runlog.lock(name, f"{socket.gethostname()}:{dead_pid}:x", now() + timedelta(hours=1))

    (run,) = project.run().runs  # Transform and Load take the lock over

    assert run.status == Status.SUCCEEDED
    assert runlog.lock_holder(name) is None  # released after Load
    assert runlog.lock(name, "elsewhere:1:y", now() + timedelta(hours=1))
    assert not runlog.lock(name, "other:2:z", now() + timedelta(hours=1))


def test_a_heartbeat_keeps_extending_a_long_states_lease(make_project):
    project = make_project()
    project.land("orders/a.csv", orders(range(1, 3)))
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    landed = ports.storage.find("landing", "orders/*.csv")[0]
    runner = Runner(INGEST)
    run, _ = _claim(
        pipeline, ports, runner, "orders", landed, ports.storage.checksum("landing", landed.path)
    )
    before = run.lease_expires_at
    beats: list[bool] = []

    def renew() -> bool:
        beats.append(ports.runlog.renew(run.run_id, runner.owner, now() + timedelta(hours=1)))
        return beats[-1]

    with Heartbeat(renew, every_s=0.01) as beat:
        while len(beats) < 3:
            pass
    assert not beat.lost and all(beats)
    assert ports.runlog.get(run.run_id).lease_expires_at > before + timedelta(minutes=30)
    assert not ports.runlog.renew(run.run_id, "someone:else:1", now())


def test_a_load_failing_on_a_gold_table_leaves_the_silver_table_as_it_was(
    make_project, destination
):
    project = make_project(destination)
    project.land("orders/a.csv", orders(range(1, 3), day=24))
    (first,) = project.run().runs
    assert first.status == Status.SUCCEEDED, first.error
    # Someone added a constraint to gold that the next run's gold breaks.
    execute(destination, "DROP TABLE gold.daily_sales")
    execute(
        destination,
        "CREATE TABLE gold.daily_sales (day DATE PRIMARY KEY, orders BIGINT CHECK (orders < 3), "
        "revenue DECIMAL(38, 2))",
    )
    project.land("orders/b.csv", orders(range(3, 6), day=24))

    (second,) = project.run().runs

    assert second.status == Status.FAILED and second.state == "Load"
    assert "gold.daily_sales" in second.error["message"]
    assert [r[0] for r in read_table(destination, "silver.orders", "order_id")] == [1, 2]
