"""The demo project end to end with its zones on S3 (one prefix, or a bucket per zone) and
PostgreSQL as destination: silver, gold, quarantine and the destination hold exactly what the
same files give on a local lake, and no staged object is left behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from medalist.controller import Outcome, run_pipeline
from medalist.demo import write_project
from medalist.loader import load_pipeline
from medalist.storage.s3 import S3Storage, s3_filesystem
from medalist.wiring import local_ports, open_ports
from tests.aws.lake import (
    ZONES,
    database,
    destination_rows,
    land,
    s3_lake_config,
    staged_left,
    zone_rows,
)

TABLES = {
    "silver.orders": "order_id",
    "silver.customers": "customer_id",
    "silver.products": "product_id",
    "gold.daily_sales": "day",
    "gold.category_revenue": "category",
    "gold.customer_value": "customer_id",
}


def _summary(outcome: Outcome) -> list[tuple[Any, ...]]:
    return sorted(
        (r.dataset, r.file, r.status, r.rows_in, r.rows_silver, r.rows_quarantined, r.rows_loaded)
        for r in outcome.runs
    )


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo on a local lake: the reference the S3 runs must match."""
    folder = tmp_path_factory.mktemp("local") / "demo"
    config = write_project(folder)
    with database() as url:
        raw = yaml.safe_load(config.read_text())
        config.write_text(yaml.safe_dump({**raw, "destination": url}))
        pipeline = load_pipeline(config)
        ports = local_ports(pipeline)
        outcome = run_pipeline(pipeline, ports)
        yield {
            "folder": folder,
            "outcome": _summary(outcome),
            "zones": {z: zone_rows(ports.storage, z) for z in ZONES},
            "destination": destination_rows(url, TABLES),
        }


# The slow half (`make test-heavy`, 35 s a layout): the pipeline story on S3
# (test_pipeline_on_s3.py, in `make test`) runs the same paths and more, on the prefix layout.
LAYOUTS = [pytest.param(layout, marks=pytest.mark.heavy) for layout in ("prefix", "buckets")]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_demo_on_s3_gives_what_it_gives_on_a_local_lake(
    local_run: dict[str, Any], aws_endpoint: str, tmp_path: Path, layout: str
) -> None:
    raw = yaml.safe_load((local_run["folder"] / "pipeline.yaml").read_text())
    raw.pop("lake", None)
    with database() as url:
        config = tmp_path / "pipeline.yaml"
        config.write_text(
            yaml.safe_dump({**raw, **s3_lake_config(aws_endpoint, layout), "destination": url})
        )
        pipeline = load_pipeline(config)
        ports = open_ports(pipeline)
        land(ports.storage, local_run["folder"] / "lake" / "landing")

        outcome = run_pipeline(pipeline, ports)

        assert _summary(outcome) == local_run["outcome"]
        assert [r.file for r in outcome.failed] == ["orders/2026-11-25.csv.gz"]  # on purpose
        filesystem = s3_filesystem(pipeline.aws_target)
        for zone in ZONES:
            assert zone_rows(ports.storage, zone, filesystem) == local_run["zones"][zone], zone
        assert destination_rows(url, TABLES) == local_run["destination"]
        assert isinstance(ports.storage, S3Storage)
        assert staged_left(ports.storage) == []
        assert not (tmp_path / "lake").exists()  # nothing of the lake on local disk

        again = run_pipeline(pipeline, ports)  # nothing new: no run, no change
        assert again.runs == []
