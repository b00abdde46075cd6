"""Twenty `medalist run` processes started at once over one landing folder: every file is
processed exactly once, gold holds every run's rows, and the metastore is never "locked"."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from medalist.runlog import Status
from medalist.wiring import local_ports
from tests.conftest import HEADER, read_table

PROCESSES = 20
FILES = 12
ROWS_PER_FILE = 400
MEDALIST = Path(sys.executable).with_name("medalist")


def test_twenty_concurrent_runs_process_each_file_once(make_project, destination):
    project = make_project(destination)
    for day in range(FILES):
        first = day * ROWS_PER_FILE
        rows = "".join(
            f"{i},2026-11-{day + 1:02d} 09:00:00,1,{1 + i % 3},1.50,PAID\n"
            for i in range(first, first + ROWS_PER_FILE)
        )
        project.land(f"orders/2026-11-{day + 1:02d}.csv", HEADER + rows)
    env = {**os.environ, "MEDALIST_CONFIG": str(project.config_path)}

    procs = [
        subprocess.Popen(
            [str(MEDALIST), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(PROCESSES)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]

    for code, out, err in results:
        assert code == 0, (out + err).decode()
        assert b"database is locked" not in out + err
    runs = local_ports(project.pipeline).runlog.list(limit=None)
    assert Counter(r.file for r in runs) == {
        f"orders/2026-11-{d + 1:02d}.csv": 1 for d in range(FILES)
    }
    assert {r.status for r in runs} == {Status.SUCCEEDED}
    loaded = read_table(destination, "silver.orders", "order_id")
    assert [r[0] for r in loaded] == list(range(FILES * ROWS_PER_FILE))
    # Gold was rebuilt by whichever run committed last; it must hold every file's rows.
    gold = read_table(destination, "gold.daily_sales", "day")
    assert [g[1] for g in gold] == [ROWS_PER_FILE] * FILES
