"""Where should a gold model run? The same run with its model built by the engine (DuckDB) and
inside the destination (ELT), for each destination that can run models: a full run of ROWS rows,
then daily files of 1% (new keys, so a model that decomposes merges them).

    python -m benchmarks.elt --rows 1000000 --days 3 --rounds 3     (`make bench-elt`)

Every run is its own process (`benchmarks/contenders/medalist_run.py`): wall time per run, and
the time of the gold work inside it (the engine's build in Transform plus the destination's in
Load), which the shared machine's noise disturbs less.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate import generate
from benchmarks.run import drop_database, fresh_database

# One run in a fresh process, timing the gold work itself too: Transform's build_gold (the
# engine's models) plus Load's _in_destination (the destination's), whichever does the work.
_RUN = """
import json, sys, time
import medalist.states.load as load, medalist.states.transform as transform
spent = {}
def timed(module, name):
    inner = getattr(module, name)
    def wrapper(*args, **kwargs):
        started = time.monotonic()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.monotonic() - started
    setattr(module, name, wrapper)
timed(transform, "build_gold")
timed(load, "_in_destination")
from benchmarks.contenders.medalist_run import main
main(*sys.argv[1:5])
print(json.dumps(spent))
"""


def one_run(csv: Path, url: str, work: Path, run_in: str) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, gold seconds) of one medalist run in its own process."""
    work.mkdir(parents=True, exist_ok=True)
    out, err = work / "bench-stdout.txt", work / "bench-stderr.txt"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-W", "ignore", "-c", _RUN, str(csv), url, str(work), run_in],
            stdout=stdout,
            stderr=stderr,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"medalist ({run_in}) failed:\n{err.read_text()[-2000:]}")
    gold = sum(json.loads(out.read_text().strip().splitlines()[-1]).values())
    return seconds, usage.ru_maxrss / 1024, gold


def scenario(destination: str, run_in: str, rows: int, days: int, tmp: Path) -> list[float]:
    """[full run s, its gold s, peak MB, median daily s, its gold s] for one destination and
    one place."""
    work = tmp / f"{destination}-{run_in}"
    url = fresh_database() if destination == "postgres" else f"duckdb:///{work}/warehouse.duckdb"
    try:
        full, rss, gold = one_run(generate(rows, tmp / "full" / "sales.csv"), url, work, run_in)
        daily = []
        for day in range(days):
            csv = generate(
                rows // 100,
                tmp / "days" / f"day-{day}.csv",
                first_id=rows + day * (rows // 100),
                day_offset=40 + day,
            )
            seconds, _, day_gold = one_run(csv, url, work, run_in)
            daily.append((seconds, day_gold))
        print(
            f"{destination}/{run_in}: full {full:.2f} s (gold {gold:.2f} s), {rss:,.0f} MB, "
            "daily " + ", ".join(f"{s:.2f} s (gold {g:.3f} s)" for s, g in daily),
            flush=True,
        )
        return [
            full,
            gold,
            rss,
            statistics.median(s for s, _ in daily),
            statistics.median(g for _, g in daily),
        ]
    finally:
        if destination == "postgres":
            drop_database(url)
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved: A B C D A B C D …")
    args = parser.parse_args(argv)
    places = [(d, r) for d in ("postgres", "duckdb") for r in ("engine", "destination")]
    results: dict[tuple[str, str], list[list[float]]] = {p: [] for p in places}
    with tempfile.TemporaryDirectory(prefix="medalist-bench-elt-") as name:
        tmp = Path(name)
        for _ in range(args.rounds):
            for destination, run_in in places:
                results[destination, run_in].append(
                    scenario(destination, run_in, args.rows, args.days, tmp)
                )
    lines = [
        f"{args.rows:,} rows, then {args.days} daily files of {args.rows // 100:,} rows (new "
        f"keys); medians of {args.rounds} interleaved round(s), each run its own process",
        "",
        "| destination | gold model runs in | full run s | its gold s | peak RSS MB | "
        "daily file s | its gold s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (destination, run_in), rounds in results.items():
        full, gold, rss, daily, daily_gold = (
            statistics.median(r[i] for r in rounds) for i in range(5)
        )
        lines.append(
            f"| {destination} | {run_in} | {full:.2f} | {gold:.2f} | {rss:,.0f} | {daily:.2f} | "
            f"{daily_gold:.3f} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
