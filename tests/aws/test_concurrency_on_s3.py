"""Twenty `medalist run` processes on one AWS-backed pipeline at once over ten landed objects:
ten runs, each object processed once, every row in silver, gold and the destination once,
nothing staged left. The claim race is DynamoDB's conditional writes (tests/aws/lake.py gives
the pipeline its own table and Glue database on the moto server)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from medalist.loader import load_pipeline
from medalist.runlog import Status
from medalist.storage.s3 import S3Storage
from medalist.wiring import open_ports
from tests.aws.lake import s3_lake_config, staged_left
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT, read_table

# ~80 s of 20 processes on moto: `make test-heavy`. make test keeps the same race on the
# DynamoDB run log alone (tests/ports/test_runlog_contract.py, 20 processes, ~8 s).
pytestmark = pytest.mark.heavy

PROCESSES = 20
FILES = 10
ROWS_PER_FILE = 300


def test_twenty_processes_claim_ten_objects_once_each(
    aws_endpoint: str, pg_url: str, tmp_path: Path
) -> None:
    config = {
        "name": "shop",
        "datasets": {"orders": ORDERS_CONTRACT},
        "models": {"daily_sales": DAILY_SALES},
        "notifications": [],
        "destination": pg_url,
        **s3_lake_config(aws_endpoint, "buckets"),
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    pipeline = load_pipeline(path)
    ports = open_ports(pipeline)
    storage = ports.storage
    assert isinstance(storage, S3Storage)
    landing = storage.roots["landing"]
    for day in range(FILES):
        first = day * ROWS_PER_FILE
        rows = "".join(
            f"{i},2026-11-{day + 1:02d} 09:00:00,1,{1 + i % 3},1.50,PAID\n"
            for i in range(first, first + ROWS_PER_FILE)
        )
        storage.s3.put_object(
            Bucket=landing.bucket,
            Key=landing.key(f"orders/2026-11-{day + 1:02d}.csv"),
            Body=(HEADER + rows).encode(),
        )
    command = [str(Path(sys.executable).with_name("medalist")), "run", "-c", str(path)]
    state = {"MEDALIST_STATE_DIR": str(tmp_path / "state")}  # one machine's local state
    procs = [
        subprocess.Popen(
            command, env={**os.environ, **state}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(PROCESSES)
    ]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]

    for code, out, err in results:
        assert code == 0, (out + err).decode()
    runs = ports.runlog.list(limit=None)
    assert Counter(r.file for r in runs) == {
        f"orders/2026-11-{d + 1:02d}.csv": 1 for d in range(FILES)
    }
    assert {r.status for r in runs} == {Status.SUCCEEDED}
    loaded = read_table(pg_url, "silver.orders", "order_id")
    assert [r[0] for r in loaded] == list(range(FILES * ROWS_PER_FILE))
    gold = read_table(pg_url, "gold.daily_sales", "day")
    assert [g[1] for g in gold] == [ROWS_PER_FILE] * FILES
    assert len(storage.find("silver", "orders/*.parquet")) == FILES
    assert staged_left(storage) == []
