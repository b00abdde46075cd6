"""Where should a gold model run? The same run with its model built by the engine (DuckDB) and
inside the destination (ELT), for each destination that can run models: a full run of ROWS rows,
then daily files of 1% (new keys, so a model that decomposes merges them).

    python -m benchmarks.elt --rows 1000000 --days 3 --rounds 3     (`make bench-elt`)

Every run is its own process (`benchmarks/contenders/medalist_run.py`); wall time per run.
"""

from __future__ import annotations

import argparse
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


def one_run(csv: Path, url: str, work: Path, run_in: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one medalist run in its own process."""
    started = time.monotonic()
    code = "import sys; from benchmarks.contenders.medalist_run import main; main(*sys.argv[1:5])"
    proc = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", code, str(csv), url, str(work), run_in],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    error = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"medalist ({run_in}) failed:\n{error[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def scenario(destination: str, run_in: str, rows: int, days: int, tmp: Path) -> list[float]:
    """[full run s, peak MB, median daily s] for one destination and one place."""
    work = tmp / f"{destination}-{run_in}"
    url = fresh_database() if destination == "postgres" else f"duckdb:///{work}/warehouse.duckdb"
    try:
        full, rss = one_run(generate(rows, tmp / "full" / "sales.csv"), url, work, run_in)
        daily = []
        for day in range(days):
            csv = generate(
                rows // 100,
                tmp / "days" / f"day-{day}.csv",
                first_id=rows + day * (rows // 100),
                day_offset=40 + day,
            )
            daily.append(one_run(csv, url, work, run_in)[0])
        print(
            f"{destination}/{run_in}: full {full:.2f} s, {rss:,.0f} MB, daily {daily}", flush=True
        )
        return [full, rss, statistics.median(daily)]
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
        "| destination | gold model runs in | full run s | peak RSS MB | daily file s |",
        "|---|---|---:|---:|---:|",
    ]
    for (destination, run_in), rounds in results.items():
        full, rss, daily = (statistics.median(r[i] for r in rounds) for i in range(3))
        lines.append(f"| {destination} | {run_in} | {full:.2f} | {rss:,.0f} | {daily:.2f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
