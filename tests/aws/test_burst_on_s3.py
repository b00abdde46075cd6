"""A burst of small files on a lake on S3 with the DynamoDB run log (decisions 0028, 0029):
one `medalist run` takes them as one batch, every file keeps its own run, and `medalist compact`
makes the month's silver files one; silver, gold, quarantine and PostgreSQL hold what the same
burst gives on a local lake with the SQLite run log."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.compaction import is_compaction
from medalist.controller import run_pipeline
from medalist.runlog import Status
from medalist.storage.s3 import S3Storage, s3_filesystem
from tests.aws.lake import ZONES, database, destination_rows, s3_lake_config, staged_left, zone_rows
from tests.aws.test_pipeline_on_s3 import CONTRACT, TABLES, Place
from tests.conftest import HEADER

FILES = 6  # DynamoDB commits at most batch_capacity(1) = 24 runs a transaction


def burst_file(n: int) -> str:
    """Rows of file n: a new key, key 1 again (the latest file wins), and every third file a
    row that fails its contract (quarantined)."""
    rows = f"{100 + n},2026-11-{n + 1:02d} 09:00:00,{n % 4},1,{n}.50,PAID\n"
    rows += f"1,2026-11-24 09:00:00,7,{n + 1},10.00,PAID\n"
    if n % 3 == 0:
        rows += f"{200 + n},2026-11-24 10:00:00,7,1,-1.00,PAID\n"
    return HEADER + rows


def burst(place: Place) -> dict[str, Any]:
    """Land the burst, run once, compact; what it produced without ids and times."""
    pipeline, ports = place.configure(CONTRACT)
    for n in range(FILES):
        place.put(ports, f"orders/store-{n:02d}.csv", burst_file(n))
    runs = run_pipeline(pipeline, ports).runs
    gold_versions = {r.outputs["Transform"]["gold_version"] for r in runs}
    before = sorted(f.path for f in ports.storage.find("silver", "orders/*.parquet"))

    env = {**os.environ, "MEDALIST_CONFIG": str(place.root / "pipeline.yaml")}
    compacted = CliRunner().invoke(app, ["compact", "orders"], env=env)
    assert compacted.exit_code == 0, compacted.output
    listed = ports.runlog.list(dataset="orders", limit=None)
    (compaction,) = [r for r in listed if is_compaction(r)]

    filesystem = s3_filesystem(pipeline.aws_target) if pipeline.lake_on_s3 else None
    return {
        "runs": sorted(
            (r.file, r.status, r.rows_in, r.rows_silver, r.rows_quarantined) for r in runs
        ),
        "gold_versions": gold_versions,
        "silver_files": (len(before), len(list(ports.storage.find("silver", "orders/*.parquet")))),
        "members": sorted(compaction.outputs["Compact"]["members"])
        == sorted(r.run_id for r in runs),
        "live": ports.runlog.live_runs("orders") == {compaction.run_id},
        "compaction": (compaction.status, compaction.outputs["Compact"]["rows"]),
        "zones": {zone: zone_rows(ports.storage, zone, filesystem) for zone in ZONES},
        "destination": destination_rows(place.destination, TABLES),
        "ports": ports,
    }


@pytest.fixture(scope="module")
def local_burst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with database() as url:
        yield burst(Place(tmp_path_factory.mktemp("local"), url, {}))


# The slow half (16 s, make test-heavy): the AWS story on S3 batches in make test, the run-log
# contract tests compaction on DynamoDB, and make chaos AWS=1 kills compactions on S3
@pytest.mark.heavy
def test_a_burst_on_s3_runs_as_one_batch_and_compacts_as_it_does_on_a_local_lake(
    local_burst: dict[str, Any], aws_endpoint: str, tmp_path: Path
) -> None:
    with database() as url:
        got = burst(Place(tmp_path, url, s3_lake_config(aws_endpoint, "prefix")))

    assert got["runs"] == local_burst["runs"]
    assert len(got["runs"]) == FILES and {r[1] for r in got["runs"]} == {Status.SUCCEEDED}
    assert len(got["gold_versions"]) == 1  # one batch: one gold build for every file
    assert got["silver_files"] == local_burst["silver_files"] == (FILES, 1)
    assert got["members"] and got["live"]
    assert got["compaction"] == local_burst["compaction"]
    for zone in ZONES:
        assert got["zones"][zone] == local_burst["zones"][zone], zone
    # one file now: a new key a file, and key 1 from the latest file
    assert len(got["zones"]["silver"]["orders"]) == FILES + 1
    assert got["destination"] == local_burst["destination"]
    storage = got["ports"].storage
    assert isinstance(storage, S3Storage) and staged_left(storage) == []
