"""Helpers for running a pipeline whose zones are on the local S3 endpoint.

Every port on the endpoint: zones on S3, the run log in a DynamoDB table and the catalog in a
Glue database of the test's own (unique names), wired by `open_ports` as a user's would be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import duckdb

from medalist.storage import Storage, Zone
from medalist.storage.s3 import STAGING, S3Storage
from tests.aws.emulator import REGION, unique

ZONES: tuple[Zone, ...] = ("landing", "silver", "gold", "quarantine")
LINEAGE_PER_RUN = ("_run_id", "_ingested_at")  # differ between two runs of the same files


def s3_lake_config(endpoint: str, layout: str) -> dict[str, Any]:
    """pipeline.yaml keys of a fresh lake on the endpoint: `prefix` (one bucket, every zone
    under s3://bucket/shop) or `buckets` (a bucket per zone)."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    where = {"LocationConstraint": REGION}
    config: dict[str, Any] = {
        "runlog": f"dynamodb://{unique('runs')}",
        "catalog": f"glue://{unique('shop').replace('-', '_')}",
        "aws": {"region": REGION, "endpoint_url": endpoint},
    }
    if layout == "prefix":
        bucket = unique("lake")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=where)
        config["lake"] = f"s3://{bucket}/shop"
    else:
        config["zones"] = {}
        for zone in ZONES:
            bucket = unique(zone)
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=where)
            config["zones"][zone] = f"s3://{bucket}/shop"
    return config


def land(storage: Storage, folder: Path) -> None:
    """Upload every file under a local landing folder into the lake's landing zone."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        storage_url = storage.url("landing", path.relative_to(folder).as_posix())
        bucket, _, key = storage_url.removeprefix("s3://").partition("/")
        _s3(storage).upload_file(str(path), bucket, key)


def _s3(storage: Storage) -> Any:
    assert isinstance(storage, S3Storage)
    return storage.s3


def zone_rows(storage: Storage, zone: Zone, filesystem: Any | None = None) -> dict[str, list]:
    """Every Parquet row a zone holds, by top folder (dataset or model), without the lineage
    that differs between two runs of the same files, sorted."""
    con = duckdb.connect()
    if filesystem is not None:
        con.register_filesystem(filesystem)
    found: dict[str, list[str]] = {}
    for f in storage.find(zone, "**/*.parquet"):
        found.setdefault(f.path.split("/")[0], []).append(storage.url(zone, f.path))
    rows = {}
    for folder, urls in found.items():
        files = ", ".join(f"'{u}'" for u in urls)
        rel = con.sql(f"SELECT * FROM read_parquet([{files}], union_by_name = true)")
        keep = [c for c in rel.columns if c not in LINEAGE_PER_RUN]
        rows[folder] = sorted(rel.select(*[f'"{c}"' for c in keep]).fetchall(), key=repr)
    con.close()
    return rows


def staged_left(storage: S3Storage) -> list[str]:
    """Staged objects still in any zone (a finished run must leave none)."""
    left = []
    for zone in ZONES:
        root = storage.roots[zone].child(STAGING)
        listed = storage.s3.list_objects_v2(Bucket=root.bucket, Prefix=root.key(""))
        left += [item["Key"] for item in listed.get("Contents", [])]
    return left
