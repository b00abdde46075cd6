"""Throttling and 5xx from S3 are retried (botocore's standard mode, then the workflow's retry
as a TransientError): a run through an endpoint that throttles still succeeds, and a bucket
check that keeps failing says what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from medalist import aws
from medalist.aws import AwsTarget
from medalist.controller import run_pipeline
from medalist.errors import TransientError
from medalist.loader import load_pipeline
from medalist.runlog import Status
from medalist.storage.s3 import S3Storage
from medalist.wiring import open_ports
from tests.aws.emulator import REGION
from tests.aws.faults import FaultyEndpoint
from tests.aws.lake import s3_lake_config
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT
from tests.storage.conftest import s3_roots


@pytest.fixture
def faulty(aws_endpoint: str) -> Iterator[FaultyEndpoint]:
    proxy = FaultyEndpoint(aws_endpoint)
    yield proxy
    proxy.close()
    aws._client.cache_clear()  # clients of the proxy's address must not outlive it


def test_a_run_through_a_throttling_endpoint_succeeds(
    faulty: FaultyEndpoint, aws_endpoint: str, tmp_path: Path
) -> None:
    config = s3_lake_config(aws_endpoint, "prefix")
    config["aws"]["endpoint_url"] = faulty.url
    config |= {
        "name": "shop",
        "datasets": {"orders": ORDERS_CONTRACT},
        "models": {"daily_sales": DAILY_SALES},
        "notifications": [{"type": "file"}],
    }
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(config))
    pipeline = load_pipeline(tmp_path / "pipeline.yaml")
    ports = open_ports(pipeline)
    assert isinstance(ports.storage, S3Storage)
    ports.storage.s3.put_object(
        Bucket=ports.storage.roots["landing"].bucket,
        Key=ports.storage.roots["landing"].key("orders/a.csv"),
        Body=(HEADER + "1,2026-11-20 10:00:00,7,2,3.50,PAID\n").encode(),
    )

    faulty.fail_next(2, "HEAD")  # the checksum's HeadObject and its first retry
    faulty.fail_next(2, "PUT")  # the next two writes: silver's upload by s3fs, or a copy
    (run,) = run_pipeline(pipeline, ports).runs

    assert run.status == Status.SUCCEEDED, run.error
    assert (run.rows_in, run.rows_silver) == (1, 1)
    assert faulty.failing == {"HEAD": 0, "PUT": 0}  # every fault was met, and got past


def test_a_bucket_check_that_keeps_failing_is_transient_and_named(
    faulty: FaultyEndpoint, aws_endpoint: str
) -> None:
    roots = s3_roots(aws_endpoint, "prefix")
    bucket = roots["landing"].removeprefix("s3://").split("/")[0]
    faulty.fail_next(100)
    with pytest.raises(TransientError) as err:
        S3Storage(roots, AwsTarget(REGION, faulty.url))
    assert f"bucket {bucket}: 503 from {faulty.url}" in str(err.value)
    assert "retrying may help" in str(err.value)
