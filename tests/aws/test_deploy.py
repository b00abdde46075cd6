"""`medalist aws deploy` against moto's CloudFormation: the stack is created through a change
set, with exactly the resource types moto cannot create skipped (each with its warning)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from medalist.aws import _client
from medalist.cli import app
from tests.aws.emulator import REGION

# moto 5.2 CloudFormation gaps, asserted exactly below rather than silenced:
# - these types are skipped with a UserWarning ("not supported by moto's CloudFormation"),
#   the template declares them all, so the test lists them all;
# - a stack created through a change set reports no Outputs (create_stack does), so the
#   printed outputs cannot be checked here; the resources themselves are.
# The test runs moto in-process (mock_aws) because only there do its warnings reach us.
SKIPPED_BY_MOTO = {
    "AWS::Athena::WorkGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::Glue::Database",
    "AWS::Glue::Job",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::Scheduler::Schedule",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    _client.cache_clear()
    with mock_aws():
        yield
    _client.cache_clear()


@pytest.fixture
def project(tmp_path: Path) -> tuple[str, Path]:
    CliRunner().invoke(app, ["init", str(tmp_path / "shop")])
    artifacts = tmp_path / "dist"
    artifacts.mkdir()  # what `medalist aws package` writes (tests/aws/test_package.py)
    (artifacts / "controller-0123.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    (artifacts / "glue_job.py").write_text("# the job script\n")
    (artifacts / "glue-wheels-4567.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    (artifacts / "image").mkdir()  # never uploaded: it is built into an image
    (artifacts / "image" / "Dockerfile").write_text("FROM scratch\n")
    manifest = {
        "compute": "glue",
        "parameters": {
            "FunctionsCode": "controller-0123.zip",
            "FunctionArchitecture": "x86_64",
            "GlueWheels": "glue-wheels-4567.zip",
        },
        "upload": ["controller-0123.zip", "glue_job.py", "glue-wheels-4567.zip"],
    }
    (artifacts / "manifest.json").write_text(json.dumps(manifest))
    return str(tmp_path / "shop" / "pipeline.yaml"), artifacts


def _deploy(config: str, artifacts: Path, bucket: str) -> tuple[int, str, set[str]]:
    args = ["aws", "deploy", "-c", config, "--stack", "shop", "--artifact-bucket", bucket]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(app, [*args, "--artifacts", str(artifacts)])
    skipped = {
        str(w.message).split()[3]
        for w in caught
        if "not supported by moto's CloudFormation" in str(w.message)
    }
    return result.exit_code, result.output, skipped


@pytest.mark.usefixtures("aws")
def test_deploy_creates_the_stack_through_a_change_set(project: tuple[str, Path]) -> None:
    config, artifacts = project
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": REGION})

    code, output, skipped = _deploy(config, artifacts, "artifacts")
    assert code == 0, output
    assert "shop: CREATE_COMPLETE" in output
    assert "Workflow (AWS::StepFunctions::StateMachine)" not in output or "CREATE" in output
    assert skipped == SKIPPED_BY_MOTO

    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="artifacts")["Contents"]}
    assert keys == {
        "medalist/controller-0123.zip",
        "medalist/glue_job.py",
        "medalist/glue-wheels-4567.zip",
    }
    functions = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName="shop-controller"
    )["Configuration"]
    assert (functions["Runtime"], functions["Architectures"]) == ("python3.12", ["x86_64"])
    with warnings.catch_warnings():  # reading the stack parses its template again
        warnings.filterwarnings("ignore", "Tried to parse", UserWarning)
        resources = boto3.client("cloudformation", region_name=REGION).describe_stack_resources(
            StackName="shop"
        )["StackResources"]
    created = {r["LogicalResourceId"] for r in resources if r.get("LogicalResourceId")}
    assert {"LandingBucket", "RunLogTable", "AlertTopic", "Workflow", "FinishFunction"} <= created
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert "shop-123456789012-landing" in buckets
    machines = boto3.client("stepfunctions", region_name=REGION).list_state_machines()
    assert sorted(m["name"] for m in machines["stateMachines"]) == ["shop-batch", "shop-ingest"]


@pytest.mark.usefixtures("aws")
def test_a_missing_artifact_bucket_is_named_with_the_fix(project: tuple[str, Path]) -> None:
    config, artifacts = project
    code, output, _ = _deploy(config, artifacts, "no-such-bucket")
    assert code == 2, output
    assert "artifact bucket no-such-bucket does not exist" in output
    assert boto3.client("cloudformation", region_name=REGION).list_stacks()["StackSummaries"] == []
