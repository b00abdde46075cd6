"""The generated state machine: valid ASL (asl-validator and our own structure check), shaped
from the workflow definition, and executed for real by moto's Step Functions interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from medalist.cli import app
from medalist.deploy.asl import batch_machine, state_machine, structure_errors
from medalist.workflow.definition import INGEST
from tests.aws.emulator import REGION, unique

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = Path(
    os.environ.get("MEDALIST_ASL_VALIDATOR", ROOT / ".tools/node_modules/.bin/asl-validator")
)


@pytest.fixture(scope="module")
def asl_validator() -> Path:
    if not VALIDATOR.is_file():
        pytest.fail(
            f"asl-validator is not installed at {VALIDATOR}: run scripts/ensure-asl-validator "
            "(make test does) or set MEDALIST_ASL_VALIDATOR.",
            pytrace=False,
        )
    return VALIDATOR


@pytest.mark.parametrize("machine", ["ingest", "batch"])
@pytest.mark.parametrize("compute", ["glue", "lambda"])
def test_generated_asl_passes_asl_validator_and_our_structure_check(
    compute: str, machine: str, asl_validator: Path, tmp_path: Path
) -> None:
    if machine == "batch":
        asl = batch_machine("shop", compute)  # type: ignore[arg-type]
    else:
        asl = state_machine(INGEST, "shop", compute)  # type: ignore[arg-type]
    assert structure_errors(asl) == []
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(asl))
    checked = subprocess.run(
        [str(asl_validator), "--json-path", str(path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_asl_validator_and_structure_check_refuse_a_broken_machine(
    asl_validator: Path, tmp_path: Path
) -> None:
    asl = state_machine(INGEST, "shop", "lambda")
    asl["States"]["Transform"]["Next"] = "Lod"  # a dangling Next: Step Functions accepts it
    del asl["States"]["Load"]["Retry"]
    problems = structure_errors(asl)
    assert "Transform: Next 'Lod' names no state" in problems
    assert "Load: a Task without Retry" in problems
    assert "Load: no path reaches it" in problems
    asl["StartAt"] = "Crawler"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(asl))
    checked = subprocess.run([str(asl_validator), "--json-path", str(path)], capture_output=True)
    assert checked.returncode != 0


def test_each_definition_state_is_a_task_with_its_retry_policy() -> None:
    asl = state_machine(INGEST, "shop", "lambda")
    for state in INGEST.states:
        task = asl["States"][state.name]
        retrier = task["Retry"][0]
        assert retrier["MaxAttempts"] == state.retry.max_attempts - 1
        assert retrier["BackoffRate"] == state.retry.backoff_rate
        assert "MedalistTransientError" in retrier["ErrorEquals"]
        assert "MedalistTerminalError" not in retrier["ErrorEquals"]  # terminal never retries
        assert task["Catch"][0]["Next"] == "RecordFailure"
    order = [s.name for s in INGEST.states]
    for name, after in zip(order, [*order[1:], "RecordSuccess"], strict=True):
        assert asl["States"][name]["Next"] == after


def test_cli_prints_the_state_machine(tmp_path: Path) -> None:
    CliRunner().invoke(app, ["init", str(tmp_path / "shop")])
    config = str(tmp_path / "shop" / "pipeline.yaml")
    printed = CliRunner().invoke(app, ["aws", "workflow", "-c", config, "--compute", "lambda"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["StartAt"] == "Crawl"
    refused = CliRunner().invoke(app, ["aws", "workflow", "-c", config, "--compute", "ec2"])
    assert refused.exit_code == 2
    assert "--compute glue" in refused.output


# --- moto runs the generated definition ---------------------------------------------------
# Emulator gaps met here (moto 5.2, server mode, no Docker):
# - Lambda runs no code without Docker: tests/aws/lambda_runtime.py plugs a runtime into the
#   moto server that runs each function's Handler (tests/aws/handlers.py here) in-process.
# - DefinitionSubstitutions are not applied by moto: the test substitutes the ARNs itself.
# - `.sync` integrations (Glue compute) do not run in moto: only the lambda compute executes.


def _substituted(asl: dict[str, Any], values: dict[str, str]) -> str:
    text = json.dumps(asl)
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


class Stack:
    """What the generated state machine needs, created on the moto server by hand."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.role = self("iam").create_role(
            RoleName=unique("medalist-sfn"), AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        self.topic = self("sns").create_topic(Name=unique("alerts"))["TopicArn"]
        self.queue = self("sqs").create_queue(QueueName=unique("inbox"))["QueueUrl"]
        queue_arn = self("sqs").get_queue_attributes(
            QueueUrl=self.queue, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self("sns").subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )

    def __call__(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def function(self, handler: str) -> str:
        return str(
            self("lambda").create_function(
                FunctionName=unique("fn"),
                Runtime="python3.12",
                Role=self.role,
                Handler=f"tests.aws.handlers.{handler}",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},  # the runtime imports the handler
            )["FunctionArn"]
        )

    def machine(self, state_handler: str) -> str:
        definition = _substituted(
            state_machine(INGEST, "shop", "lambda"),
            {
                "StateFunctionArn": self.function(state_handler),
                "FinishFunctionArn": self.function("finish"),
                "AlertTopicArn": self.topic,
            },
        )
        return str(
            self("stepfunctions").create_state_machine(
                name=unique("ingest"), definition=definition, roleArn=self.role
            )["stateMachineArn"]
        )

    def execute(self, machine: str) -> tuple[str, list[str]]:
        """Run one execution to its end: its status and the states it entered, in order."""
        sfn = self("stepfunctions")
        execution = sfn.start_execution(
            stateMachineArn=machine, name="01TEST", input=json.dumps({"run_id": "01TEST"})
        )["executionArn"]
        deadline = time.monotonic() + 30
        while (done := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution did not end in 30 s"
            time.sleep(0.2)
        events = sfn.get_execution_history(executionArn=execution)["events"]
        entered = [
            e["stateEnteredEventDetails"]["name"]
            for e in events
            if e["type"].endswith("StateEntered")
        ]
        return done["status"], entered

    def received(self) -> dict[str, Any]:
        message = self("sqs").receive_message(
            QueueUrl=self.queue, MessageAttributeNames=["All"], WaitTimeSeconds=2
        )["Messages"][0]
        self("sqs").delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return dict(message)


def test_moto_runs_every_state_then_records_and_publishes_success(aws_endpoint: str) -> None:
    stack = Stack(aws_endpoint)
    status, entered = stack.execute(stack.machine("state_ok"))
    assert status == "SUCCEEDED"
    assert entered == [
        "Crawl", "Transform", "Load", "RecordSuccess", "NotifySuccess", "Succeeded"
    ]  # fmt: skip
    message = stack.received()
    assert message["Body"] == "SUCCEEDED: all states succeeded"
    assert message["MessageAttributes"]["status"]["StringValue"] == "SUCCEEDED"


def test_a_terminal_error_is_caught_recorded_and_published_without_retry(
    aws_endpoint: str,
) -> None:
    stack = Stack(aws_endpoint)
    machine = stack.machine("state_fails_in_transform")
    status, entered = stack.execute(machine)
    assert status == "FAILED"
    # Transform entered once: a terminal error is not in its Retrier's ErrorEquals.
    assert entered == ["Crawl", "Transform", "RecordFailure", "NotifyFailure", "Failed"]
    message = stack.received()
    assert message["MessageAttributes"]["status"]["StringValue"] == "FAILED"
    assert "row 3, column quantity: not an integer" in message["Body"]
    # A second execution with the same name (the run id) is refused: a duplicate event
    # cannot start the run twice.
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        stack("stepfunctions").start_execution(
            stateMachineArn=machine,
            name="01TEST",
            input="{}",
        )
