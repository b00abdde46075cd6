"""Peak memory of validating a CSV file, at several sizes: it must not grow with the file.

    .venv/bin/python -m benchmarks.validate_memory 1000000 5000000

For each row count: generate the benchmarks' sales CSV (benchmarks/generate.py), run `medalist run`
on it (Crawl + Transform; Load off) in a child process, and report wall time and the child's
peak RSS as the kernel measured it (wait4). Rows never become Python objects: DuckDB reads,
checks and writes them, spilling past `memory_limit`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.generate import CONTRACT, generate

MEDALIST = Path(sys.executable).with_name("medalist")
CONFIG = {
    "name": "bench",
    "memory_limit": os.environ.get("MEMORY_LIMIT", "768MB"),
    "datasets": {"sales": {**CONTRACT, "load": "none"}},
}


def measure(rows: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="medalist-bench-") as tmp:
        root = Path(tmp)
        (root / "pipeline.yaml").write_text(yaml.safe_dump(CONFIG))
        generate(rows, root / "lake" / "landing" / "sales" / "sales.csv")
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(MEDALIST), "run", "-c", str(root / "pipeline.yaml")],
            stdout=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for its rusage
        if proc.returncode != 0:
            raise SystemExit(f"medalist run failed at {rows:,} rows")
        return time.monotonic() - started, usage.ru_maxrss / 1024


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000_000, 5_000_000]
    print("| rows | seconds | peak RSS (MB) |\n|---:|---:|---:|")
    for rows in sizes:
        seconds, rss = measure(rows)
        print(f"| {rows:,} | {seconds:.1f} | {rss:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
