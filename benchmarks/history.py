"""A year of daily files, then a 1% daily increment (`make bench`, `python -m benchmarks.history`).

DAYS daily files holding ROWS rows between them land at once (so they also run as batches), and
`medalist run` takes them to silver, gold and PostgreSQL; past `compaction.max_files: 64` (set
here: compaction is off by default) the run compacts silver per month. Then three daily files
of ROWS / 100 rows each, one run each: their median time, against a full run of ROWS rows in one
file (the issue's target: ≤ 3%).

    python -m benchmarks.history --rows 5000000 --days 365
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.burst import LAST_CPU_S, run_lake
from benchmarks.generate import generate

COMPACT_AFTER = 64  # compaction.max_files of a deployment that keeps a year in silver


def history(rows: int, days: int, tmp: Path, url: str, increments: int = 3) -> dict[str, float]:
    """Seconds of: the history's run, each increment (median, wall and CPU), and the silver
    files left."""
    root = tmp / "history"
    landing = root / "lake" / "landing" / "sales"
    daily = rows // days
    for day in range(days):
        generate(daily, landing / f"day-{day:03d}.csv", first_id=day * daily, day_offset=day)
    seconds, _ = run_lake(root, url, compact_after=COMPACT_AFTER)
    print(f"history: {days} files, {daily * days:,} rows, {seconds:.1f} s", flush=True)
    times, cpu, first = [], [], days * daily
    for day in range(days, days + increments):
        generate(rows // 100, landing / f"day-{day:03d}.csv", first_id=first, day_offset=day)
        first += rows // 100
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            run_lake(root, url, compact_after=COMPACT_AFTER)
        times.append(time.monotonic() - started)
        cpu.append(LAST_CPU_S[0])
    files = len(list((root / "lake" / "silver" / "sales").glob("*.parquet")))
    print(
        "increments: "
        + ", ".join(f"{s:.2f} s ({c:.2f} CPU s)" for s, c in zip(times, cpu, strict=True)),
        f"({files} silver files, load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    shutil.rmtree(root, ignore_errors=True)
    return {
        "history_s": seconds,
        "increment_s": statistics.median(times),
        "increment_cpu_s": statistics.median(cpu),
        "files": files,
    }


def full_run(rows: int, tmp: Path, url: str) -> float:
    """Seconds of one run of one file of `rows` rows, in this process (its CPU seconds are
    in `LAST_CPU_S` after)."""
    root = tmp / "full"
    generate(rows, root / "lake" / "landing" / "sales" / "sales.csv")
    seconds, _ = run_lake(root, url)
    shutil.rmtree(root, ignore_errors=True)
    return seconds


def full_runs(rows: int, tmp: Path, rounds: int = 3) -> tuple[float, float]:
    """(median seconds, median CPU seconds) of `rounds` full runs, each into a fresh database:
    one run's time swung from 13 to 22 s between two quiet rounds of the page (2026-12-03),
    and the increment's share with it."""
    from benchmarks.run import scratch_database

    seconds, cpu = [], []
    for _ in range(rounds):
        with scratch_database() as url:
            seconds.append(full_run(rows, tmp, url))
            cpu.append(LAST_CPU_S[0])
    return statistics.median(seconds), statistics.median(cpu)


def main(argv: list[str] | None = None) -> None:
    from benchmarks.run import scratch_database

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="medalist-history-") as name:
        tmp = Path(name)
        full, full_cpu = full_runs(args.rows, tmp)
        with scratch_database() as url:
            found = history(args.rows, args.days, tmp, url)
    share = 100 * found["increment_s"] / full
    cpu_share = 100 * found["increment_cpu_s"] / full_cpu
    print(
        f"full run of {args.rows:,} rows: {full:.1f} s ({full_cpu:.1f} CPU s); after "
        f"{args.days} daily files a 1% increment took {found['increment_s']:.2f} s = "
        f"{share:.1f}% ({found['increment_cpu_s']:.2f} CPU s = {cpu_share:.1f}%; "
        f"{found['files']:.0f} silver files)"
    )


if __name__ == "__main__":
    main()
