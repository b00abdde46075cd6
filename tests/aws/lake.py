"""Helpers for running a pipeline whose zones are on the local S3 endpoint.

Every port on the endpoint: zones on S3, the run log in a DynamoDB table and the catalog in a
Glue database of the test's own (unique names), wired by `open_ports` as a user's would be.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import duckdb
import psycopg

from medalist.storage import Storage, Zone
from medalist.storage.s3 import STAGING, S3Storage
from tests.aws.emulator import REGION, unique
from tests.conftest import SERVER_URL, _server

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


@contextmanager
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for one story's destination, dropped afterwards."""
    name = f"medalist_test_{uuid.uuid4().hex[:12]}"
    with _server() as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield SERVER_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with _server() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def destination_rows(url: str, tables: dict[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of each destination table (schema.name -> the key it is sorted by), without
    the lineage that differs between runs."""
    found = {}
    with psycopg.connect(url) as con:
        for table, key in tables.items():
            schema, name = table.split(".")
            columns = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                    "AND table_name = %s AND column_name NOT IN ('_run_id', '_ingested_at') "
                    "ORDER BY ordinal_position",
                    (schema, name),
                )
            ]
            cols = ", ".join(f'"{c}"' for c in columns)
            found[table] = con.execute(f"SELECT {cols} FROM {table} ORDER BY {key}").fetchall()
    return found
