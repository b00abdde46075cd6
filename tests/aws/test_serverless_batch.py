"""A burst on the deployed design: small files landed together start ONE execution of the batch
machine; each file keeps its own run, outcome and alert (decision 0049).

Emulator gaps met here, as in test_serverless.py: the handlers run in moto's server process
(tests/aws/lambda_runtime.py), the test hands the trigger queue's messages to the controller as
the event source mapping would, and substitutes the definitions' ARNs itself. moto does not run
`.sync` Glue tasks: the Glue job's batch entry point is called as its job run would call it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from medalist.runlog import RunRecord, Status
from medalist.wiring import open_ports
from tests.aws.test_serverless import Deployment
from tests.conftest import HEADER


@pytest.fixture
def deployment(aws_endpoint: str, tmp_path: Path, pg_url: str) -> Deployment:
    return Deployment(aws_endpoint, tmp_path, pg_url)


def _orders(first: int, quantity: int = 2) -> str:
    """Two orders of 2026-11-24 with ids `first` and `first + 1`; quantity 0 breaks min: 1."""
    return (
        HEADER
        + f"{first},2026-11-24 10:00:00,7,{quantity},9.50,PAID\n"
        + f"{first + 1},2026-11-24 11:00:00,8,1,5.00,PAID\n"
    )


def test_a_burst_runs_as_one_batch_execution_and_a_bad_file_fails_alone(
    deployment: Deployment, pg_url: str
) -> None:
    messages = []
    for i in range(3):
        messages += deployment.land(f"orders/good-{i}.csv", _orders(10 * i + 1))
    messages += deployment.land("orders/bad.csv", _orders(100, quantity=0))
    started = deployment.trigger(messages)["started"]
    assert len(started) == 4

    (execution,) = deployment.executions(deployment.batch_machine)
    assert (execution["name"], execution["status"]) == (started[0], "SUCCEEDED")
    assert deployment.executions() == []  # no execution per file
    runlog = open_ports(deployment.pipeline).runlog
    runs = {run.file: run for run in map(runlog.get, started)}
    assert {file: run.status for file, run in runs.items()} == {
        "orders/good-0.csv": Status.SUCCEEDED,
        "orders/good-1.csv": Status.SUCCEEDED,
        "orders/good-2.csv": Status.SUCCEEDED,
        "orders/bad.csv": Status.FAILED,
    }
    bad = runs["orders/bad.csv"]
    assert bad.state == "Transform" and bad.error and "quantity" in bad.error["message"]
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT count(*) FROM silver.orders").fetchone() == (6,)
        assert con.execute("SELECT orders FROM gold.daily_sales").fetchall() == [(6,)]
    # The batch machine has no Notify state: every run's alert went out through the outbox.
    alerts = deployment.alerts() + deployment.alerts()
    statuses = sorted(a["MessageAttributes"]["status"]["StringValue"] for a in alerts)
    assert statuses == ["FAILED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]


def test_a_retried_batch_task_resumes_each_run_and_its_catch_fails_only_what_is_left(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medalist import glue_job, serverless
    from medalist.aws_handlers import finish

    monkeypatch.setenv("MEDALIST_CONFIG", str(deployment.config))
    monkeypatch.setenv("MEDALIST_ALERT_TOPIC", deployment.topic)
    for i in range(4):
        deployment("s3").put_object(
            Bucket=deployment.bucket,
            Key=f"shop/landing/orders/{i}.csv",
            Body=_orders(10 * i + 1).encode(),
        )
    pipeline, ports = deployment.pipeline, open_ports(deployment.pipeline)
    starts: list[tuple[list[RunRecord], str]] = []

    def start(runs: list[RunRecord], name: str) -> bool:
        starts.append((runs, name))
        return True

    serverless.claim_and_start(pipeline, ports, start, None)
    ((runs, name),) = starts  # one execution for the four files, named after the first run
    ids = [run.run_id for run in runs]
    assert len(ids) == 4 and name == ids[0]

    # An earlier attempt of the Task committed the second run's Crawl, then died.
    serverless.run_state(pipeline, ports, ids[1], "Crawl", retry=False)
    glue_job.main(["--JOB_ID", "j_1", "--run_ids", ",".join(ids[:3])])
    for run_id in ids[:3]:
        run = ports.runlog.get(run_id)
        assert run.status == Status.SUCCEEDED, run.error
        crawls = [t for t in run.history if t.state == "Crawl" and t.status == Status.SUCCEEDED]
        assert len(crawls) == 1  # the resumed run's Crawl was not done again

    # The Task's last attempt timed out: the Catch fails what is still RUNNING, and only that.
    caught: dict[str, Any] = {"Error": "States.Timeout", "Cause": "Task timed out"}
    finish({"run_ids": ids, "status": "FAILED", "error": caught}, None)
    last = ports.runlog.get(ids[3])
    assert last.status == Status.FAILED and last.error
    assert "States.Timeout" in last.error["message"]
    assert [ports.runlog.get(i).status for i in ids[:3]] == [Status.SUCCEEDED] * 3
    before = [ports.runlog.get(i).version for i in ids]
    glue_job.main(["--JOB_ID", "j_2", "--run_ids", ",".join(ids)])  # a stray retry: no work
    assert [ports.runlog.get(i).version for i in ids] == before


def test_status_puts_a_batched_run_beside_its_batch_execution() -> None:
    """A run of a batch has no execution of its own: while it runs, its lease names the
    batch's execution (after the batch's first run), and `medalist aws status` shows that."""
    from datetime import UTC, datetime

    from medalist.deploy.status import lines

    at = datetime(2026, 12, 3, tzinfo=UTC)
    first, second = (
        RunRecord(
            run_id=run_id, pipeline="shop", dataset="orders", file=f"orders/{run_id}.csv",
            file_hash="h", file_bytes=10, started_at=at, lease_owner="sfn:01FIRST",
        )
        for run_id in ("01FIRST", "01SECOND")
    )  # fmt: skip
    aborted = [{"name": "01FIRST", "status": "ABORTED", "startDate": at}]
    found = {line.run.run_id: line for line in lines([first, second], aborted)}
    assert found["01SECOND"].execution == "01FIRST"
    assert "the daily sweep resumes the run" in found["01SECOND"].note
