"""Bad AWS configuration stops `medalist run` before any run starts, naming the resource and
the fix, and loses nothing: the landed file stays, no run is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from typer.testing import CliRunner

from medalist import aws
from medalist.cli import app
from medalist.errors import ConfigError, MedalistError, TransientError
from medalist.loader import load_pipeline
from medalist.wiring import open_storage
from tests.aws.emulator import FAKE_CREDENTIALS, REGION, free_port, unique
from tests.aws.lake import s3_lake_config
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    """Clients are cached per endpoint and region, credentials and all: a test that changes
    the environment must neither reuse one nor leave its own behind."""
    aws._client.cache_clear()
    yield
    aws._client.cache_clear()


def _project(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "pipeline.yaml"
    base = {
        "name": "shop",
        "datasets": {"orders": ORDERS_CONTRACT},
        "models": {"daily_sales": DAILY_SALES},
        "notifications": [{"type": "file"}],
    }
    path.write_text(yaml.safe_dump({**base, **config}))
    return path


def _landed_buckets(endpoint: str, layout: str = "buckets") -> dict[str, Any]:
    """A lake with orders/a.csv landed; returns its configuration."""
    config = s3_lake_config(endpoint, layout)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    landing = config["zones"]["landing"] if "zones" in config else config["lake"] + "/landing"
    bucket, _, prefix = landing.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/orders/a.csv", Body=HEADER.encode())
    return config


def _fails_to_open(path: Path, kind: type[MedalistError]) -> str:
    with pytest.raises(kind) as err:
        open_storage(load_pipeline(path))
    return str(err.value)


def test_a_missing_bucket_is_named_and_nothing_is_lost(tmp_path: Path, aws_endpoint: str) -> None:
    config = _landed_buckets(aws_endpoint)
    missing = unique("silver-gone")
    config["zones"]["silver"] = f"s3://{missing}/shop"
    path = _project(tmp_path, config)

    message = _fails_to_open(path, ConfigError)
    assert f"bucket {missing} does not exist" in message
    assert "Create the bucket" in message and "correct lake:/zones:" in message

    result = CliRunner().invoke(app, ["run", "-c", str(path)])
    assert result.exit_code == 2, result.output
    assert missing in result.output
    landing = config["zones"]["landing"].removeprefix("s3://").split("/")[0]
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name=REGION)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=landing)["Contents"]] == [
        "shop/orders/a.csv"
    ]
    assert not (tmp_path / ".medalist").exists()  # no run log, no alert: nothing started


def test_a_bucket_in_another_region_says_which(tmp_path: Path, aws_endpoint: str) -> None:
    config = _landed_buckets(aws_endpoint, "prefix")
    config["aws"]["region"] = "us-east-2"
    bucket = config["lake"].removeprefix("s3://").split("/")[0]

    message = _fails_to_open(_project(tmp_path, config), ConfigError)
    assert f"bucket {bucket} is in region {REGION}, not us-east-2" in message
    assert f"Set aws.region: {REGION} in pipeline.yaml" in message


def test_no_credentials_says_where_they_come_from(
    tmp_path: Path, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch, fresh_clients: None
) -> None:
    config = _landed_buckets(aws_endpoint, "prefix")
    for name in FAKE_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to ask here
    bucket = config["lake"].removeprefix("s3://").split("/")[0]

    message = _fails_to_open(_project(tmp_path, config), ConfigError)
    assert f"no AWS credentials found to reach bucket {bucket}" in message
    assert "AWS_PROFILE" in message and "pipeline.yaml never holds credentials" in message


def test_an_endpoint_that_is_down_fails_fast_and_says_so(
    tmp_path: Path, aws_endpoint: str, fresh_clients: None
) -> None:
    config = _landed_buckets(aws_endpoint, "prefix")
    down = f"http://127.0.0.1:{free_port()}"
    config["aws"]["endpoint_url"] = down

    message = _fails_to_open(_project(tmp_path, config), TransientError)
    assert f"cannot reach {down} for bucket" in message
    assert "Check aws.endpoint_url and aws.region" in message
