"""One Storage contract, three lakes: local folders, S3 under one prefix, a bucket per zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from medalist.aws import AwsTarget
from medalist.storage import Storage, Zone
from medalist.storage.local import LocalStorage
from medalist.storage.s3 import S3Storage
from tests.aws.emulator import REGION, unique

DATA_ZONES: tuple[Zone, ...] = ("landing", "silver", "gold", "quarantine")


@dataclass
class Lake:
    """A storage under test and the means to touch its zones from outside (as a user would)."""

    storage: Storage
    put: Callable[[Zone, str, bytes], None]  # write a file into a zone, bypassing the port
    write_url: Callable[[str, bytes], None]  # write where a staging URL says (as the engine)


def make_buckets(endpoint: str, *names: str) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    for name in names:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


def s3_roots(endpoint: str, layout: str) -> dict[Zone, str]:
    """Zone roots of a fresh S3 lake: `prefix` (every zone under s3://one-bucket/shop) or
    `buckets` (the AWS design's layout: s3://<zone bucket>/shop)."""
    if layout == "prefix":
        bucket = unique("lake")
        make_buckets(endpoint, bucket)
        return {z: f"s3://{bucket}/shop/{z}" for z in (*DATA_ZONES, "_medalist")}
    buckets = {z: unique(z.replace("_", "")) for z in DATA_ZONES}
    make_buckets(endpoint, *buckets.values())
    return {z: f"s3://{b}/shop" for z, b in buckets.items()}


def _s3_writer(endpoint: str) -> Callable[[str, bytes], None]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)

    def write(url: str, data: bytes) -> None:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=data)

    return write


def _local_writer(url: str, data: bytes) -> None:
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    Path(url).write_bytes(data)


LAYOUTS = ["local", "s3-prefix", "s3-buckets"]


@pytest.fixture(params=LAYOUTS, ids=LAYOUTS)
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Lake:
    if request.param == "local":
        local = LocalStorage(tmp_path / "lake")
        return Lake(local, lambda z, p, d: _local_writer(local.url(z, p), d), _local_writer)
    endpoint = request.getfixturevalue("aws_endpoint")
    storage = S3Storage(
        s3_roots(endpoint, request.param.removeprefix("s3-")), AwsTarget(REGION, endpoint)
    )
    write = _s3_writer(endpoint)
    return Lake(storage, lambda z, p, d: write(storage.url(z, p), d), write)
