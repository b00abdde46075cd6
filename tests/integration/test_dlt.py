"""A real integration tool: dlt's filesystem destination writes Parquet into landing, laid out
as a dataset's `source` expects, and the files run without hand work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from medalist.runlog import Status
from tests.aws.emulator import REGION
from tests.conftest import ORDERS_CONTRACT
from tests.integration.lakes import LAKES, Lake


@dlt.resource(name="orders", primary_key="order_id", write_disposition="append")
def orders(first: int, last: int) -> Iterator[dict[str, Any]]:
    for i in range(first, last + 1):
        yield {
            "order_id": i,
            "order_ts": f"2026-11-24T{i % 24:02d}:00:00",
            "customer_id": i % 5,
            "quantity": 1 + i % 3,
            "unit_price": "9.99",
            "status": "PAID",
        }


@pytest.mark.parametrize("kind", LAKES)
def test_dlt_filesystem_destination_writes_landing_files_that_run(
    make_lake: Callable[..., Lake], tmp_path: Path, kind: str
) -> None:
    # dlt writes <bucket_url>/<dataset_name>/<layout>: landing/dlt/orders/<load id>.<n>.parquet
    lake = make_lake(kind, datasets={"orders": {**ORDERS_CONTRACT, "source": "dlt/orders/*"}})
    landing = lake.ports.storage.url("landing", "x").removesuffix("/x")
    credentials = None
    if kind == "s3":  # dlt's own S3 client, pointed at the same local endpoint as the lake
        credentials = {
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "endpoint_url": lake.pipeline.aws_target.endpoint_url,
            "region_name": REGION,
        }
    else:
        landing = Path(landing).as_uri()
    pipeline = dlt.pipeline(
        pipeline_name="to_medalist",
        pipelines_dir=str(tmp_path / "dlt"),
        destination=dlt.destinations.filesystem(
            bucket_url=landing,
            credentials=credentials,
            layout="{table_name}/{load_id}.{file_id}.{ext}",
        ),
        dataset_name="dlt",
    )
    pipeline.run(orders(1, 100), loader_file_format="parquet")
    pipeline.run(orders(90, 120), loader_file_format="parquet")  # 11 rows changed again

    outcome = lake.run()
    assert [r.status for r in outcome.runs] == [Status.SUCCEEDED] * 2
    assert sorted({r["order_id"] for r in lake.silver("orders")}) == list(range(1, 121))
