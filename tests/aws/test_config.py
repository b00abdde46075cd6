"""pipeline.yaml's AWS keys: where the zones, run log and catalog live, and secrets from
Secrets Manager. Each wrong value names its key and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from medalist.errors import ConfigError
from medalist.loader import load_pipeline
from tests.aws.emulator import REGION, unique
from tests.conftest import ORDERS_CONTRACT


def _write(tmp_path: Path, **config: Any) -> Path:
    path = tmp_path / "pipeline.yaml"
    base = {"name": "shop", "datasets": {"orders": ORDERS_CONTRACT}}
    path.write_text(yaml.safe_dump({**base, **config}))
    return path


def test_a_lake_under_one_s3_prefix(tmp_path: Path) -> None:
    pipeline = load_pipeline(
        _write(
            tmp_path,
            lake="s3://acme-lake/shop/",
            runlog="dynamodb://medalist-runs",
            catalog="glue://shop",
            aws={"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9000"},
        )
    )
    assert pipeline.lake_on_s3
    assert pipeline.zone_url("silver") == "s3://acme-lake/shop/silver"
    assert pipeline.state_dir == tmp_path / ".medalist"
    assert pipeline.destination_url == f"duckdb:///{tmp_path / '.medalist' / 'warehouse.duckdb'}"
    assert pipeline.aws_target.region == "eu-west-1"


def test_a_bucket_per_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zones = {z: f"s3://acme-{z}/shop" for z in ("landing", "silver", "gold", "quarantine")}
    monkeypatch.setenv("MEDALIST_STATE_DIR", str(tmp_path / "tmp-state"))
    pipeline = load_pipeline(_write(tmp_path, zones=zones, runlog="dynamodb://medalist-runs"))
    assert [pipeline.zone_url(z) for z in zones] == list(zones.values())
    assert pipeline.state_dir == tmp_path / "tmp-state"  # e.g. Lambda's /tmp


def test_a_local_lake_keeps_its_state_in_the_lake(tmp_path: Path) -> None:
    pipeline = load_pipeline(_write(tmp_path))
    assert not pipeline.lake_on_s3
    assert pipeline.state_dir == tmp_path / "lake" / "_medalist"
    assert pipeline.zone_url("gold") == str(tmp_path / "lake" / "gold")


BAD = [
    (
        "s3_lake_with_the_local_run_log",
        {"lake": "s3://acme-lake/shop"},
        "runlog: a lake on S3 needs a run log every machine and process can reach, not the "
        "local SQLite file; set runlog: dynamodb://TABLE (e.g. dynamodb://shop-runs)",
    ),
    (
        "zones_on_s3_with_the_local_run_log",
        {"zones": {z: f"s3://acme-{z}/x" for z in ("landing", "silver", "gold", "quarantine")}},
        "set runlog: dynamodb://TABLE",
    ),
    (
        "runlog_scheme",
        {"runlog": "postgresql://db/runs"},
        "runlog: postgresql:// is not supported here; write dynamodb://medalist-runs",
    ),
    ("runlog_table_name", {"runlog": "dynamodb://a b"}, "runlog: 'a b' is not a valid DynamoDB"),
    (
        "catalog_scheme",
        {"lake": "s3://acme-lake/shop", "runlog": "dynamodb://runs", "catalog": "hive://x"},
        "catalog: hive:// is not supported here; write glue://shop",
    ),
    (
        "glue_with_a_local_lake",
        {"catalog": "glue://shop"},
        "catalog: glue:// needs the zones on S3",
    ),
    ("lake_scheme", {"lake": "gs://acme/shop"}, "lake: gs:// is not supported; use a folder or"),
    ("bucket_name", {"lake": "s3://Acme_Lake/x"}, "'Acme_Lake' in 's3://Acme_Lake/x' is not a"),
    (
        "zone_not_on_s3",
        {"zones": {"landing": "/data/landing"}},
        "zones.landing: '/data/landing' is not an s3://bucket/prefix URL",
    ),
    (
        "some_zones_left_local",
        {"zones": {"landing": "s3://acme-landing/x"}, "runlog": "dynamodb://runs"},
        "zones: silver, gold, quarantine would stay in the local lake",
    ),
    (
        "zone_inside_another",
        {
            "lake": "s3://acme-lake/shop",
            "zones": {"landing": "s3://acme-lake/shop/silver/in"},
            "runlog": "dynamodb://runs",
        },
        "zones: landing (s3://acme-lake/shop/silver/in) lies inside silver",
    ),
    (
        "endpoint_not_a_url",
        {"aws": {"endpoint_url": "127.0.0.1:9000"}},
        "aws.endpoint_url: '127.0.0.1:9000' is not an http(s)://host:port URL",
    ),
    ("aws_typo", {"aws": {"regoin": "eu-west-1"}}, "aws.regoin: unknown key. Did you mean"),
]


@pytest.mark.parametrize(("config", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_wrong_aws_keys_name_the_key_and_the_fix(
    tmp_path: Path, config: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_pipeline(_write(tmp_path, **config))
    assert expected in str(err.value)
    assert str(tmp_path / "pipeline.yaml") in str(err.value)


def test_local_only_code_says_the_lake_is_on_s3(tmp_path: Path) -> None:
    pipeline = load_pipeline(_write(tmp_path, lake="s3://acme-lake/shop", runlog="dynamodb://runs"))
    with pytest.raises(ConfigError, match="the lake is on S3 \\(s3://acme-lake/shop\\)"):
        pipeline.lake_path  # noqa: B018 - the property raises


@pytest.fixture
def secrets(aws_endpoint: str) -> Any:
    return boto3.client("secretsmanager", endpoint_url=aws_endpoint, region_name=REGION)


def test_a_destination_password_from_secrets_manager(
    tmp_path: Path, aws_endpoint: str, secrets: Any
) -> None:
    plain = secrets.create_secret(Name=unique("pg"), SecretString="s3cr:t@x")["ARN"]
    rds = secrets.create_secret(
        Name=unique("rds"), SecretString=json.dumps({"username": "loader", "password": "p4ss"})
    )["ARN"]
    pipeline = load_pipeline(
        _write(
            tmp_path,
            destination=f"postgresql://${{aws-secret:{rds}#username}}:${{aws-secret:{rds}#"
            "password}@db:5432/shop",
            notifications=[
                {
                    "type": "webhook",
                    "url": "http://hooks",
                    "headers": {"X": f"${{aws-secret:{plain}}}"},
                }
            ],
            aws={"endpoint_url": aws_endpoint},
        )
    )
    assert pipeline.destination_url == "postgresql://loader:p4ss@db:5432/shop"
    assert pipeline.notifications[0].headers == {"X": "s3cr:t@x"}  # type: ignore[union-attr]


def test_a_missing_secret_or_key_is_named(tmp_path: Path, aws_endpoint: str, secrets: Any) -> None:
    arn = secrets.create_secret(
        Name=unique("rds"), SecretString=json.dumps({"password": "hunter2"})
    )["ARN"]
    gone = arn.rsplit(":", 1)[0] + ":nothing-here-AbCdEf"
    aws = {"endpoint_url": aws_endpoint}

    with pytest.raises(ConfigError) as err:
        load_pipeline(_write(tmp_path, destination=f"${{aws-secret:{arn}#user}}", aws=aws))
    assert f"secret {arn} has no key 'user' (it has password)" in str(err.value)
    assert "hunter2" not in str(err.value)  # never the secret's value

    with pytest.raises(ConfigError) as err:
        load_pipeline(_write(tmp_path, destination=f"${{aws-secret:{gone}}}", aws=aws))
    assert f"secret {gone} does not exist" in str(err.value)
    assert "pipeline.yaml" in str(err.value)


def test_validate_shows_where_the_zones_are(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from medalist.cli import app

    zones = {z: f"s3://acme-{z}/shop" for z in ("landing", "silver", "gold", "quarantine")}
    path = _write(tmp_path, zones=zones, runlog="dynamodb://medalist-runs")
    result = CliRunner().invoke(app, ["validate", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "landing s3://acme-landing/shop, silver s3://acme-silver/shop" in result.output

    (tmp_path / "pipeline.yaml").write_text(
        (tmp_path / "pipeline.yaml").read_text().replace("runlog: dynamodb://medalist-runs", "")
    )
    refused = CliRunner().invoke(app, ["validate", "-c", str(path)])
    assert refused.exit_code == 2 and "set runlog: dynamodb://TABLE" in refused.output
