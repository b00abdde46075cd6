"""medalist extract against its floor: `psql \\copy (SELECT … ORDER BY cursor) TO file` of the
same PostgreSQL table. Prints wall time and peak RSS of each, and the ratio (target ≤ 1.5x,
peak RSS ≤ 1 GB).

    python -m benchmarks.extract --rows 5000000 [--url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import resource
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
    """Wall seconds and peak RSS (MB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return took, (peak if peak > before else before) // 1024


def measure(rows: int, url: str) -> tuple[tuple[float, int], tuple[float, int]]:
    """((seconds, peak RSS MB) of the floor, of medalist extract) on a fresh table of `rows`."""
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{DB}"')
    db = f"{server}/{DB}"
    try:
        with psycopg.connect(db, autocommit=True) as con:
            con.execute(TABLE.replace("%s", str(rows)))
            con.execute("VACUUM ANALYZE orders")  # both read a table in the same state
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            floor = _timed(
                [
                    "psql", db, "-qc",
                    f"\\copy (SELECT * FROM orders ORDER BY updated_at) TO '{root}/floor.csv' "
                    "WITH (FORMAT csv)",
                ]
            )  # fmt: skip
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
            (root / "pipeline.yaml").write_text(yaml.safe_dump(config))
            medalist = Path(sys.executable).parent / "medalist"
            ours = _timed([str(medalist), "extract", "db", "-c", str(root / "pipeline.yaml")])
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    return floor, ours


def section(rows: int, url: str) -> str:
    """The extract section of `make bench`'s report (benchmarks/run.py)."""
    floor, ours = measure(rows, url)
    ratio = ours[0] / floor[0]
    return "\n".join(
        [
            "",
            "## Extract: a PostgreSQL table to landing",
            "",
            f"`medalist extract` of a {rows:,}-row table (7 columns, incremental on updated_at) "
            "into Parquet files in landing, against its floor `psql \\copy (SELECT * … ORDER BY "
            "updated_at) TO file` (`benchmarks/extract.py`, `make bench-extract`).",
            "",
            "| | wall s | peak RSS MB |",
            "|---|---:|---:|",
            f"| psql \\copy (floor) | {floor[0]:.1f} | {floor[1]} |",
            f"| medalist extract | {ours[0]:.1f} | {ours[1]} |",
            "",
            f"medalist / floor: {ratio:.2f} x (target ≤ 1.5 x: {_met(ratio <= 1.5)}); "
            f"peak RSS ≤ 1 GB: {_met(ours[1] <= 1024)}.",
            "",
        ]
    )


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    print(section(args.rows, args.url))


if __name__ == "__main__":
    main()
