"""The local AWS endpoint every AWS adapter test relies on: boto3 and DuckDB (through s3fs)
both reach it, so a failure here is the emulator's, not an adapter's."""

from __future__ import annotations

import boto3
import duckdb
import s3fs

from tests.aws.emulator import REGION, unique


def test_duckdb_reads_and_writes_s3_through_an_fsspec_filesystem(aws_endpoint: str) -> None:
    bucket = unique("endpoint")
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name=REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="landing/a.csv", Body=b"id,name\n1,ann\n2,bob\n")

    fs = s3fs.S3FileSystem(endpoint_url=aws_endpoint, client_kwargs={"region_name": REGION})
    con = duckdb.connect()
    con.register_filesystem(fs)
    con.execute(
        f"COPY (SELECT * FROM read_csv('s3://{bucket}/landing/*.csv')) "
        f"TO 's3://{bucket}/silver/a.parquet' (FORMAT parquet)"
    )
    rows = con.execute(f"SELECT * FROM read_parquet('s3://{bucket}/silver/a.parquet')").fetchall()
    assert rows == [(1, "ann"), (2, "bob")]
