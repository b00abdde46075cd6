"""Kill `medalist extract` with SIGKILL at random moments, run it again: every row of the source
table lands exactly once (the chaos test's promise, for the DMS part)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from medalist.runlog import Status
from medalist.wiring import local_ports
from tests.integration.conftest import SourceDb
from tests.integration.lakes import Lake
from tests.integration.test_extract import landed, orders, project_for

KILLS = int(os.environ.get("MEDALIST_EXTRACT_KILLS", "6"))
ROWS = 20_000


def _extract(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [Path(sys.executable).parent / "medalist", "extract", "erp", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _until_writing(folder: Path, proc: subprocess.Popen[bytes], before: set[Path]) -> None:
    """Wait until the extract stages a file of its own (or ends)."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if folder.is_dir() and set(folder.rglob(".staging/*")) - before:
            return
        time.sleep(0.005)


def test_killed_extracts_land_every_row_exactly_once(
    make_lake: Callable[..., Lake], source_db: SourceDb
) -> None:
    seed = int(os.environ.get("SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    lake = project_for(make_lake, source_db.url, rows_per_file=400)
    project = lake.project
    source_db.insert_orders(orders(range(1, ROWS + 1)))
    next_id = ROWS + 1
    for kill in range(KILLS):
        folder = project.landing / "orders"
        staged = set(folder.rglob(".staging/*")) if folder.is_dir() else set()
        proc = _extract(project.config_path)
        _until_writing(folder, proc, staged)  # start-up takes seconds here
        # The first kill lands as soon as the first of ~50 files is staged, so at least one kill
        # is mid-extract even on a fast, quiet machine; the others at random moments.
        time.sleep(0 if kill == 0 else rng.uniform(0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        more = rng.randint(0, 300)  # rows keep arriving between kills, some sharing a value
        source_db.insert_orders(orders(range(next_id, next_id + more)))
        next_id += more
    final = _extract(project.config_path)
    assert final.wait(timeout=120) == 0, f"seed {seed}"

    ids = Counter(i for f in landed(lake).values() for i in f)
    duplicated = [i for i, n in ids.items() if n > 1]
    assert not duplicated, f"seed {seed}: landed twice: {duplicated[:10]}"
    assert set(ids) == set(range(1, next_id)), f"seed {seed}: missing rows"
    runs = local_ports(project.pipeline).runlog.list(dataset="orders", limit=None)
    assert runs[0].status == Status.SUCCEEDED
    assert all(r.status != Status.RUNNING for r in runs)  # the dead ones are closed
    interrupted = [r for r in runs if r.error and "interrupted" in r.error["message"]]
    assert interrupted, f"seed {seed}: no kill landed mid-extract; the test proved nothing"
    assert not list(project.landing.rglob(".staging/*.parquet"))  # nor left staged
