"""medalist extract against its floor: `psql \\copy (SELECT … ORDER BY cursor) TO file` of the
same PostgreSQL table. Prints wall time and peak RSS of each, and the ratio (target ≤ 1.5x,
peak RSS ≤ 1 GB).

    python -m benchmarks.extract --rows 5000000 [--url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import yaml

DB = "medalist_bench_extract"
TABLE = (
    "CREATE TABLE orders AS SELECT g AS order_id, "
    "TIMESTAMP '2026-01-01' + g * INTERVAL '1 second' AS order_ts, g % 5000 AS customer_id, "
    "1 + g % 9 AS quantity, (g % 10000) / 100.0::numeric(12,2) AS unit_price, "
    "(ARRAY['PAID','REFUNDED','CANCELLED'])[1 + g % 3] AS status, "
    "TIMESTAMP '2026-01-01' + (g / 3) * INTERVAL '1 second' AS updated_at "
    "FROM generate_series(1, %s) g"
)


def _timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB, from the kernel: wait4) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return took, usage.ru_maxrss // 1024


def measure(rows: int, url: str, rounds: int = 3) -> tuple[list[float], list[float], int]:
    """(floor seconds, medalist extract seconds, medalist's peak RSS MB): `rounds` of each,
    interleaved (floor, medalist, floor, …: a busy machine slows both alike), on one table of
    `rows`, each extract into a fresh lake."""
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{DB}"')
    db = f"{server}/{DB}"
    floor: list[float] = []
    ours: list[float] = []
    peak = 0
    try:
        with psycopg.connect(db, autocommit=True) as con:
            con.execute(TABLE.replace("%s", str(rows)))
            con.execute("VACUUM ANALYZE orders")  # both read a table in the same state
        config = {
            "name": "bench",
            "datasets": {
                "orders": {"source": "orders/*", "columns": {"order_id": {"type": "bigint"}}}
            },
            "sources": {
                "db": {
                    "url": db,
                    "tables": {"orders": {"dataset": "orders", "cursor": "updated_at"}},
                }
            },
            "notifications": [{"type": "file"}],
        }
        medalist = Path(sys.executable).parent / "medalist"
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                seconds, _ = _timed(
                    [
                        "psql", db, "-qc",
                        f"\\copy (SELECT * FROM orders ORDER BY updated_at) TO '{root}/floor.csv' "
                        "WITH (FORMAT csv)",
                    ]
                )  # fmt: skip
                floor.append(seconds)
                (root / "pipeline.yaml").write_text(yaml.safe_dump(config))
                seconds, rss = _timed(
                    [str(medalist), "extract", "db", "-c", str(root / "pipeline.yaml")]
                )
                ours.append(seconds)
                peak = max(peak, rss)
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    return floor, ours, peak


def section(rows: int, url: str, rounds: int = 3) -> str:
    """The extract section of `make bench`'s report (benchmarks/run.py)."""
    floor, ours, peak = measure(rows, url, rounds)
    ratio = statistics.median(ours) / statistics.median(floor)
    each = ", ".join(f"{a / b:.2f}" for a, b in zip(ours, floor, strict=True))
    return "\n".join(
        [
            "",
            "## Extract: a PostgreSQL table to landing",
            "",
            f"`medalist extract` of a {rows:,}-row table (7 columns, incremental on updated_at) "
            "into Parquet files in landing, against its floor `psql \\copy (SELECT * … ORDER BY "
            f"updated_at) TO file` (`benchmarks/extract.py`, `make bench-extract`); {rounds} "
            "round(s) interleaved, median wall time.",
            "",
            "| | median s | rounds s | peak RSS MB |",
            "|---|---:|---|---:|",
            f"| psql \\copy (floor) | {statistics.median(floor):.1f} | "
            f"{', '.join(f'{s:.1f}' for s in floor)} | |",
            f"| medalist extract | {statistics.median(ours):.1f} | "
            f"{', '.join(f'{s:.1f}' for s in ours)} | {peak} |",
            "",
            f"medalist / floor: {ratio:.2f} x (each round: {each}; target ≤ 1.5 x: "
            f"{_met(ratio <= 1.5)}); peak RSS ≤ 1 GB: {_met(peak <= 1024)}.",
            "",
        ]
    )


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(section(args.rows, args.url, args.rounds))


if __name__ == "__main__":
    main()
