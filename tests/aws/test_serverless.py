"""The deployed design end to end on the local AWS endpoint: an object lands in the landing
bucket, S3 notifies the trigger queue, the controller function claims the file and starts an
execution of the generated state machine, whose tasks run medalist's handlers with the AWS
adapters; the run ends in DynamoDB, its alert on SNS, its rows in S3 and PostgreSQL.

Emulator gaps met here (moto 5.2, no Docker):
- Lambda runs handlers through tests/aws/lambda_runtime.py (in moto's server process).
- The SQS -> Lambda event source mapping is not driven by moto: the test receives the queue's
  messages and invokes the controller with them, as the mapping would.
- CloudFormation's DefinitionSubstitutions are not applied: the test substitutes the ARNs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
import yaml

from medalist.deploy.asl import batch_machine, state_machine
from medalist.loader import load_pipeline
from medalist.runlog import Status
from medalist.wiring import open_ports
from medalist.workflow.definition import INGEST
from tests.aws.emulator import REGION, unique
from tests.aws.lake import s3_lake_config
from tests.aws.test_aws_logs import emf_metrics
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT

GOOD = HEADER + "1,2026-11-24 10:00:00,7,2,9.50,PAID\n2,2026-11-24 11:00:00,8,1,5.00,PAID\n"
BAD = HEADER + "3,2026-11-25 10:00:00,7,0,9.50,PAID\n"  # quantity 0 breaks min: 1


class Deployment:
    """The stack's moving parts, made by hand on the endpoint for one pipeline."""

    def __init__(self, endpoint: str, root: Path, pg_url: str) -> None:
        self.endpoint = endpoint
        lake = s3_lake_config(endpoint, "prefix")
        self.topic = self("sns").create_topic(Name=unique("alerts"))["TopicArn"]
        config = {
            "name": "shop",
            **lake,
            "destination": pg_url,
            "datasets": {"orders": {**ORDERS_CONTRACT, "max_bad_rows": 0}},
            "models": {"daily_sales": DAILY_SALES},
            "notifications": [{"type": "sns", "topic_arn": self.topic}],
        }
        self.config = root / "pipeline.yaml"
        self.config.write_text(yaml.safe_dump(config, sort_keys=False))
        self.pipeline = load_pipeline(self.config)
        self.bucket, _, self.prefix = lake["lake"].removeprefix("s3://").partition("/")
        self.inbox = self._queue_on_topic()
        self.triggers = self._landing_notifications()
        role = self("iam").create_role(RoleName=unique("medalist"), AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        names = {"ingest": unique("ingest"), "batch": unique("batch")}
        machines = f"arn:aws:states:{REGION}:123456789012:stateMachine"
        arns = {kind: f"{machines}:{name}" for kind, name in names.items()}
        env = {
            "MEDALIST_CONFIG": str(self.config),
            "MEDALIST_STATE_MACHINE": arns["ingest"],
            "MEDALIST_BATCH_STATE_MACHINE": arns["batch"],
            "MEDALIST_ALERT_TOPIC": self.topic,
        }
        functions = {
            kind: self._function(role, f"medalist.aws_handlers.{kind}", env)
            for kind in ("controller", "run_state", "finish")
        }
        self.controller = functions["controller"]
        definitions = {
            "ingest": state_machine(INGEST, "shop", "lambda"),
            "batch": batch_machine("shop", "lambda"),
        }
        made = {}
        for kind, asl in definitions.items():
            definition = json.dumps(asl)
            for key, value in {
                "StateFunctionArn": functions["run_state"],
                "FinishFunctionArn": functions["finish"],
                "AlertTopicArn": self.topic,
            }.items():
                definition = definition.replace("${" + key + "}", value)
            made[kind] = self("stepfunctions").create_state_machine(
                name=names[kind], definition=definition, roleArn=role
            )["stateMachineArn"]
        assert made == arns
        self.machine, self.batch_machine = made["ingest"], made["batch"]

    def __call__(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def _queue_on_topic(self) -> str:
        url = self("sqs").create_queue(QueueName=unique("inbox"))["QueueUrl"]
        arn = self("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        self("sns").subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=arn["Attributes"]["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        return str(url)

    def _landing_notifications(self) -> str:
        url = self("sqs").create_queue(QueueName=unique("triggers"))["QueueUrl"]
        arn = self("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        self("s3").put_bucket_notification_configuration(
            Bucket=self.bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": arn["Attributes"]["QueueArn"],
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {
                            "Key": {"FilterRules": [{"Name": "prefix", "Value": "shop/landing/"}]}
                        },
                    }
                ]
            },
        )
        return str(url)

    def _function(self, role: str, handler: str, env: dict[str, str]) -> str:
        return str(
            self("lambda").create_function(
                FunctionName=unique("fn"),
                Runtime="python3.12",
                Role=role,
                Handler=handler,
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
                Environment={"Variables": env},
            )["FunctionArn"]
        )

    def land(self, name: str, text: str) -> list[dict[str, Any]]:
        """Put a file in landing; the S3 notifications it caused (the queue's messages)."""
        self("s3").put_object(Bucket=self.bucket, Key=f"shop/landing/{name}", Body=text.encode())
        messages = (
            self("sqs")
            .receive_message(QueueUrl=self.triggers, MaxNumberOfMessages=10, WaitTimeSeconds=2)
            .get("Messages", [])
        )
        for message in messages:
            self("sqs").delete_message(
                QueueUrl=self.triggers, ReceiptHandle=message["ReceiptHandle"]
            )
        return [m for m in messages if "Records" in json.loads(m["Body"])]

    def trigger(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Invoke the controller with queue messages, as the event source mapping does."""
        event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]}
        answer = self("lambda").invoke(FunctionName=self.controller, Payload=json.dumps(event))
        payload = json.loads(answer["Payload"].read())
        assert "FunctionError" not in answer, payload
        return dict(payload)

    def executions(self, machine: str | None = None) -> list[dict[str, Any]]:
        """Every execution (of the ingest machine, or `machine`), once none is running."""
        sfn, deadline = self("stepfunctions"), time.monotonic() + 120
        while True:
            found = sfn.list_executions(stateMachineArn=machine or self.machine)["executions"]
            if all(e["status"] != "RUNNING" for e in found):
                return list(found)
            assert time.monotonic() < deadline, "an execution still runs after 120 s"
            time.sleep(0.3)

    def alerts(self) -> list[dict[str, Any]]:
        messages = self("sqs").receive_message(
            QueueUrl=self.inbox, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
            WaitTimeSeconds=2,
        ).get("Messages", [])  # fmt: skip
        for message in messages:
            self("sqs").delete_message(QueueUrl=self.inbox, ReceiptHandle=message["ReceiptHandle"])
        return messages


@pytest.fixture
def deployment(aws_endpoint: str, tmp_path: Path, pg_url: str) -> Deployment:
    return Deployment(aws_endpoint, tmp_path, pg_url)


def test_a_landed_object_runs_through_the_state_machine_once(
    deployment: Deployment, pg_url: str
) -> None:
    messages = deployment.land("orders/2026-11-24 day.csv", GOOD)  # a space: URL-encoded key
    assert messages, "S3 sent no notification to the trigger queue"
    started = deployment.trigger(messages)
    assert len(started["started"]) == 1
    run_id = started["started"][0]

    executions = deployment.executions()
    assert [(e["name"], e["status"]) for e in executions] == [(run_id, "SUCCEEDED")]
    run = open_ports(deployment.pipeline).runlog.get(run_id)
    assert run.status == Status.SUCCEEDED
    assert run.file == "orders/2026-11-24 day.csv"
    done = [(t.state, t.status) for t in run.history if t.status == Status.SUCCEEDED]
    assert done == [(s, Status.SUCCEEDED) for s in ("Crawl", "Transform", "Load")]
    assert (run.rows_in, run.rows_silver, run.rows_loaded) == (2, 2, 3)  # + 1 gold row
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT count(*) FROM silver.orders").fetchone() == (2,)
        assert con.execute("SELECT orders FROM gold.daily_sales").fetchall() == [(2,)]
    alerts = deployment.alerts()
    assert len(alerts) == 1  # published by the state machine, not also through the outbox
    assert alerts[0]["MessageAttributes"]["status"]["StringValue"] == "SUCCEEDED"

    # The same event again (SQS delivers at least once): no second execution.
    assert deployment.trigger(messages)["started"] == []
    assert len(deployment.executions()) == 1


def test_a_failing_transform_records_the_halt_and_publishes_fail(
    deployment: Deployment, pg_url: str
) -> None:
    started = deployment.trigger(deployment.land("orders/2026-11-25.csv", BAD))
    run_id = started["started"][0]

    assert [e["status"] for e in deployment.executions()] == ["FAILED"]
    run = open_ports(deployment.pipeline).runlog.get(run_id)
    assert run.status == Status.FAILED and run.state == "Transform"
    assert run.error is not None and "quantity" in run.error["message"]
    alert = deployment.alerts()[0]
    assert alert["MessageAttributes"]["status"]["StringValue"] == "FAILED"
    body = json.loads(alert["Body"])
    assert body["state"] == "Transform" and "quantity" in body["reason"]
    # Nothing published: no silver file of the run counts, and the destination has no table.
    ports = open_ports(deployment.pipeline)
    assert ports.runlog.live_runs("orders") == set()
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT to_regclass('silver.orders')").fetchone() == (None,)


def test_glue_compute_runs_each_state_through_the_job_script(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto does not run `.sync` Glue tasks: the job entry point is driven as the job run would,
    one `--run_id --state` invocation per Task, then the finish function."""
    from medalist import glue_job, serverless
    from medalist.aws_handlers import finish

    monkeypatch.setenv("MEDALIST_CONFIG", str(deployment.config))
    monkeypatch.setenv("MEDALIST_ALERT_TOPIC", deployment.topic)
    deployment.land("orders/2026-11-24.csv", GOOD)
    ports = open_ports(deployment.pipeline)
    claimed = serverless.claim_and_start(deployment.pipeline, ports, lambda runs, name: True, None)
    (run,) = claimed.runs
    for state in ("Crawl", "Transform", "Load"):
        glue_job.main(["--JOB_ID", "j_1", "--run_id", run.run_id, "--state", state])
    message = finish({"run_id": run.run_id, "status": "SUCCEEDED"}, None)
    assert message["attributes"]["status"]["StringValue"] == "SUCCEEDED"
    assert ports.runlog.get(run.run_id).status == Status.SUCCEEDED
    assert ports.runlog.live_runs("orders") == {run.run_id}

    # What CloudWatch receives: one JSON object a line, each naming run, state and dataset;
    # the metric lines in Embedded Metric Format.
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged and all((e["run_id"], e["dataset"]) == (run.run_id, "orders") for e in logged)
    assert {e["state"] for e in logged} == {"Start", "Crawl", "Transform", "Load", "Finish"}
    metrics = [emf_metrics(e) for e in logged if "_aws" in e]
    assert [m for m in metrics if "StateSeconds" in m] and len(metrics) == 4
    (outcome,) = [m for m in metrics if "RowsIn" in m]
    assert (outcome["RowsIn"], outcome["RowsSilver"], outcome["RowsLoaded"]) == (2, 2, 3)


# The functions' zip (medalist aws package) holds medalist, the standard library and SLIM;
# Lambda's runtime adds boto3. Both functions run here with nothing else importable.
SLIM_RUN = """
import importlib.abc, importlib.machinery, json, sys
allowed = set(json.loads(sys.argv[1]))

class OnlyThePackage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in allowed or top in sys.stdlib_module_names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and "-packages" in str(spec.origin or spec.submodule_search_locations):
            raise ImportError(f"{top} is not in the functions zip")
        return None

sys.meta_path.insert(0, OnlyThePackage())
from medalist import aws_handlers, serverless

print("RESULT", json.dumps(aws_handlers.controller(json.loads(sys.argv[2]), None)))
pipeline, ports = aws_handlers._loaded()
(lost,) = serverless.claim_and_start(pipeline, ports, lambda runs, name: True, None).runs
caught = {"Error": "States.Timeout", "Cause": "Task timed out after 900 seconds"}
finished = aws_handlers.finish({"run_id": lost.run_id, "status": "FAILED", "error": caught}, None)
print("RESULT", json.dumps({"run_id": lost.run_id, "subject": finished["subject"]}))
print("RESULT", json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] not in allowed)))
"""


def _shipped_modules() -> list[str]:
    """Top-level modules of the zip's distributions and of what Lambda's runtime provides."""
    from importlib.metadata import packages_distributions, requires

    from packaging.requirements import Requirement

    from medalist.deploy.package import PROVIDED, SLIM

    names, todo = set(), [*SLIM, *PROVIDED]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in names:
            continue
        names.add(name)
        for line in requires(name) or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    tops = packages_distributions()
    found = {"medalist"}
    for top, dists in tops.items():
        if any(d.lower().replace("_", "-") in names for d in dists):
            found.add(top)
    return sorted(found)


def test_the_controller_and_finish_functions_need_nothing_but_the_slim_zip(
    deployment: Deployment,
) -> None:
    import os
    import subprocess
    import sys

    event = {"Records": [{"body": m["Body"]} for m in deployment.land("orders/a.csv", GOOD)]}
    deployment("s3").put_object(  # landed, but its event was lost: the finish below records it
        Bucket=deployment.bucket, Key="shop/landing/orders/b.csv", Body=GOOD.encode()
    )
    quick = deployment("stepfunctions").create_state_machine(  # the run itself is tested above
        name=unique("quick"),
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/medalist",
    )["stateMachineArn"]
    env = os.environ | {
        "MEDALIST_CONFIG": str(deployment.config),
        "MEDALIST_STATE_MACHINE": quick,
        "MEDALIST_ALERT_TOPIC": deployment.topic,
    }
    ran = subprocess.run(
        [sys.executable, "-c", SLIM_RUN, json.dumps(_shipped_modules()), json.dumps(event)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    printed = ran.stdout.splitlines()
    logs = [json.loads(line) for line in printed if not line.startswith("RESULT ")]
    started, lost, imported = (
        json.loads(line.removeprefix("RESULT ")) for line in printed if line.startswith("RESULT ")
    )
    assert any(entry["state"] == "Finish" for entry in logs)  # the JSON logs, too
    executions = deployment("stepfunctions").list_executions(stateMachineArn=quick)
    assert [e["name"] for e in executions["executions"]] == started["started"]
    run = open_ports(deployment.pipeline).runlog.get(lost["run_id"])
    assert run.status == Status.FAILED and run.file == "orders/b.csv"
    assert run.error is not None and "States.Timeout" in run.error["message"]
    assert not {"duckdb", "pyarrow", "numpy", "psycopg", "sqlglot"} & {
        m.partition(".")[0] for m in imported
    }, imported


def test_status_shows_each_run_beside_its_execution(deployment: Deployment) -> None:
    """Three runs in three conditions, no engine needed: one recorded FAILED by its execution,
    one whose execution was aborted while the run log still says RUNNING (the sweep's case),
    one claimed whose execution never started (its event lost after the claim)."""
    from typer.testing import CliRunner

    from medalist import serverless
    from medalist.cli import app

    sfn = deployment("stepfunctions")
    waiting = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 300, "End": True}}}
    machine = sfn.create_state_machine(
        name=unique("status"), definition=json.dumps(waiting),
        roleArn="arn:aws:iam::123456789012:role/medalist",
    )["stateMachineArn"]  # fmt: skip
    for name in ("a", "b", "c"):
        deployment("s3").put_object(
            Bucket=deployment.bucket, Key=f"shop/landing/orders/{name}.csv", Body=GOOD.encode()
        )
    ports = open_ports(deployment.pipeline)
    alone = deployment.pipeline.batch.model_copy(update={"max_files": 1})  # one execution each
    pipeline = deployment.pipeline.model_copy(update={"batch": alone})

    def start(runs: list[Any], name: str) -> bool:
        (run,) = runs
        if run.file != "orders/c.csv":
            sfn.start_execution(stateMachineArn=machine, name=name)
        return True

    runs = {r.file: r.run_id for r in serverless.claim_and_start(pipeline, ports, start, None).runs}
    failed, aborted, lost = (runs[f"orders/{n}.csv"] for n in ("a", "b", "c"))
    timed_out = {"Error": "States.Timeout", "Cause": "Task timed out"}
    serverless.finish(deployment.pipeline, ports, failed, "FAILED", timed_out)
    for run_id in (failed, aborted):
        sfn.stop_execution(
            executionArn=f"{machine.replace(':stateMachine:', ':execution:')}:{run_id}"
        )

    result = CliRunner().invoke(
        app,
        ["aws", "status", "-c", str(deployment.config), "--state-machine", machine],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "FAILED" in rows[failed] and "ABORTED" in rows[failed]
    assert "RUNNING" in rows[aborted] and "the daily sweep resumes the run" in rows[aborted]
    assert "none" in rows[lost] and "claimed, no execution" in rows[lost]
