"""The generated CloudFormation template: cfn-lint clean for several pipelines, and the stack a
user relies on (zone buckets locked down, one IAM role per access role, the state machine)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from medalist.config import Pipeline
from medalist.deploy.cfn import to_yaml
from medalist.deploy.compute import eventbridge_cron
from medalist.deploy.template import template
from medalist.errors import ConfigError

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def pipeline(**overrides: Any) -> Pipeline:
    config: dict[str, Any] = {
        "name": "shop",
        "datasets": {
            "orders": {
                "source": "orders/*.csv",
                "columns": {"order_id": {"type": "bigint"}, "amount": {"type": "decimal(12,2)"}},
            }
        },
        "models": {"totals": {"sql": "SELECT sum(amount) AS total FROM silver.orders"}},
    }
    return Pipeline.model_validate(config | overrides)


AWS_KEYS: dict[str, Any] = {
    "zones": {z: f"s3://acme-{z}/shop" for z in ("landing", "silver", "gold", "quarantine")},
    "runlog": "dynamodb://shop-runs",
    "catalog": "glue://shop_lake",
    "aws": {"region": "eu-west-1"},
    "notifications": [
        {"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:123456789012:shop-alerts"}
    ],
}

VARIANTS = {  # name: (pipeline, compute, Aurora created by the stack)
    "aws-pipeline": (pipeline(**AWS_KEYS), "lambda", False),
    "glue-defaults": (pipeline(), "glue", False),
    "lambda-defaults": (pipeline(), "lambda", False),
    "aurora-glue": (pipeline(**AWS_KEYS), "glue", True),
    "aurora-lambda": (pipeline(), "lambda", True),
    "custom-roles-and-schedule": (
        pipeline(
            access={
                "roles": {
                    "auditor": {"zones": ["quarantine", "landing"]},
                    "ops_team": {"zones": [], "operate": True},
                    "client": {"zones": [], "upload": ["orders"]},
                }
            },
            trigger={"mode": "both", "schedule": "30 6 * * 1-5", "timezone": "Europe/Paris"},
        ),
        "glue",
        False,
    ),
}


# One worker takes every test here, so cfn-lint's one run (10-18 s) is paid once, not per worker
pytestmark = pytest.mark.xdist_group("cfn-lint")


@pytest.fixture(scope="module")
def linted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every variant linted by one cfn-lint run (its start-up is most of the time): what it
    said about each template."""
    assert CFN_LINT.is_file() or shutil.which("cfn-lint"), "cfn-lint (dev extra) is missing"
    folder = tmp_path_factory.mktemp("templates")
    paths = {}
    for name, (source, compute, aurora) in VARIANTS.items():
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(to_yaml(template(source, compute, aurora)))  # type: ignore[arg-type]
    run = subprocess.run(
        [str(CFN_LINT), "--format", "parseable", *map(str, paths.values())],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 or run.stdout, run.stderr  # a crash is not "no findings"
    return {
        name: "".join(line + "\n" for line in run.stdout.splitlines() if str(path) in line)
        for name, path in paths.items()
    }


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cfn_lint_finds_nothing_in_the_generated_templates(
    variant: str, linted: dict[str, str]
) -> None:
    assert linted[variant] == ""


def test_yaml_has_no_aliases_cloudformation_would_refuse() -> None:
    text = to_yaml(template(pipeline(), "lambda"))
    assert "&id" not in text and "*id" not in text
    assert yaml.safe_load(text)["Resources"]["Workflow"]["Type"] == (
        "AWS::StepFunctions::StateMachine"
    )


def test_zone_buckets_are_encrypted_versioned_private_and_tls_only() -> None:
    resources = template(pipeline())["Resources"]
    for zone in ("Landing", "Silver", "Gold", "Quarantine"):
        bucket = resources[f"{zone}Bucket"]["Properties"]
        assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
        assert all(bucket["PublicAccessBlockConfiguration"].values())
        assert "ServerSideEncryptionConfiguration" in bucket["BucketEncryption"]
        statement = resources[f"{zone}BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        assert statement[0]["Effect"] == "Deny"
        assert statement[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    landing_rules = resources["LandingBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert landing_rules[0]["ExpirationInDays"] == {"Ref": "LandingExpireDays"}


def _readable_buckets(role: dict[str, Any]) -> set[str]:
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    objects = [s for s in statements if s["Action"] == ["s3:GetObject"]]
    return {r["Fn::Sub"].split(".")[0].removeprefix("${") for s in objects for r in s["Resource"]}


def test_each_access_role_reads_only_its_zones_as_the_dashboard_does() -> None:
    source = VARIANTS["custom-roles-and-schedule"][0]
    resources = template(source)["Resources"]
    assert _readable_buckets(resources["AuditorAccessRole"]) == {
        "LandingBucket",
        "QuarantineBucket",
    }
    ops = resources["OpsTeamAccessRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert _readable_buckets(resources["OpsTeamAccessRole"]) == set()
    assert any(s["Action"] == ["states:StartExecution"] for s in ops["Statement"])
    default = template(pipeline())["Resources"]
    assert _readable_buckets(default["AnalystAccessRole"]) == {"GoldBucket"}


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_an_uploader_role_may_write_its_datasets_landing_prefix_only() -> None:
    roles = {"client": {"zones": [], "upload": ["orders"]}}
    shop = {"source": "stores/*.csv", "columns": {"id": {"type": "bigint"}}}
    datasets = {**pipeline().model_dump()["datasets"], "stores": shop}
    for source, prefix in [
        (pipeline(access={"roles": roles}, datasets=datasets), ""),
        (pipeline(**AWS_KEYS, access={"roles": roles}, datasets=datasets), "shop/"),
    ]:
        (statement,) = _statements(template(source)["Resources"]["ClientAccessRole"])
        assert statement["Action"] == [
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        ]
        assert statement["Resource"] == [{"Fn::Sub": "${LandingBucket.Arn}/" + prefix + "orders/*"}]
    admin = _statements(template(pipeline(datasets=datasets))["Resources"]["AdminAccessRole"])
    (uploads,) = [s for s in admin if s.get("Sid") == "UploadToItsLanding"]
    assert [r["Fn::Sub"] for r in uploads["Resource"]] == [
        "${LandingBucket.Arn}/orders/*",
        "${LandingBucket.Arn}/stores/*",
    ]


def test_the_state_machine_is_the_generated_workflow_with_its_substitutions() -> None:
    machine = template(pipeline(), "glue")["Resources"]["Workflow"]["Properties"]
    definition = json.loads(machine["DefinitionString"])
    assert definition["States"]["Transform"]["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    placeholders = {"StateJobName", "FinishFunctionArn", "AlertTopicArn"}
    assert set(machine["DefinitionSubstitutions"]) == placeholders
    for name in placeholders:
        assert "${" + name + "}" in machine["DefinitionString"]


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 3 * * *", "0 3 * * ? *"),
        ("30 6 * * 1-5", "30 6 ? * 2-6 *"),  # Monday-Friday: EventBridge counts Sunday as 1
        ("0 0 1 * *", "0 0 1 * ? *"),
        ("15 2 * * 0,6", "15 2 ? * 1,7 *"),
        ("*/10 * * * *", "*/10 * * * ? *"),
    ],
)
def test_cron_becomes_eventbridge_cron(cron: str, expected: str) -> None:
    assert eventbridge_cron(cron) == expected


def test_the_stack_makes_what_pipeline_yaml_names() -> None:
    resources = template(pipeline(**AWS_KEYS))["Resources"]
    assert resources["LandingBucket"]["Properties"]["BucketName"] == "acme-landing"
    assert resources["GoldBucket"]["Properties"]["BucketName"] == "acme-gold"
    table = resources["RunLogTable"]["Properties"]
    assert table["TableName"] == "shop-runs"
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]]  # the adapter's index
    assert resources["Catalog"]["Properties"]["DatabaseInput"]["Name"] == "shop_lake"
    assert resources["AlertTopic"]["Properties"]["TopicName"] == "shop-alerts"


def test_one_bucket_for_every_zone_is_refused_with_the_layout_to_use() -> None:
    one_bucket = pipeline(lake="s3://acme-lake/shop", runlog="dynamodb://shop-runs")
    with pytest.raises(ConfigError, match="a bucket per zone"):
        template(one_bucket)


def test_aurora_is_private_encrypted_and_reached_through_its_own_secret() -> None:
    stack = template(pipeline(), "lambda", database=True)
    resources, parameters = stack["Resources"], stack["Parameters"]
    cluster = resources["DatabaseCluster"]
    assert cluster["DeletionPolicy"] == "Snapshot"
    assert cluster["Properties"]["Engine"] == "aurora-postgresql"
    assert cluster["Properties"]["StorageEncrypted"] is True
    assert "ServerlessV2ScalingConfiguration" in cluster["Properties"]
    assert resources["DatabaseInstance"]["Properties"]["DBInstanceClass"] == "db.serverless"
    assert resources["DatabaseInstance"]["Properties"]["PubliclyAccessible"] is False
    attachment = resources["DatabaseSecretAttachment"]["Properties"]  # adds host, port, dbname
    assert attachment["TargetId"] == {"Ref": "DatabaseCluster"}
    state = resources["StateFunction"]["Properties"]
    assert state["VpcConfig"]["SubnetIds"] == {"Ref": "DatabaseSubnetIds"}
    assert state["Environment"]["Variables"]["MEDALIST_DESTINATION_SECRET"] == {
        "Ref": "DatabaseSecret"
    }
    assert "DestinationSecretArn" not in parameters and "DatabaseSubnetIds" in parameters
    glue = template(pipeline(), "glue", database=True)["Resources"]["StateJob"]["Properties"]
    assert glue["Connections"] == {"Connections": [{"Ref": "DatabaseNetwork"}]}
    assert "DatabaseCluster" not in template(pipeline(), "lambda")["Resources"]
