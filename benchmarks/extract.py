"""medalist extract against its floor: `psql \\copy (SELECT … ORDER BY cursor) TO file` of the
same PostgreSQL table. Prints wall time and peak RSS of each, and the ratio (target ≤ 1.5x,
peak RSS ≤ 1 GB).

    python -m benchmarks.extract --rows 5000000 [--url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import psycopg
import yaml

from benchmarks.child import Measured, timed

DB = "medalist_bench_extract"
TABLE = (
    "CREATE TABLE orders AS SELECT g AS order_id, "
    "TIMESTAMP '2026-01-01' + g * INTERVAL '1 second' AS order_ts, g % 5000 AS customer_id, "
    "1 + g % 9 AS quantity, (g % 10000) / 100.0::numeric(12,2) AS unit_price, "
    "(ARRAY['PAID','REFUNDED','CANCELLED'])[1 + g % 3] AS status, "
    "TIMESTAMP '2026-01-01' + (g / 3) * INTERVAL '1 second' AS updated_at "
    "FROM generate_series(1, %s) g"
)
FLOOR_SQL = "SELECT * FROM orders ORDER BY updated_at"


def measure(rows: int, url: str, rounds: int = 3) -> tuple[list[Measured], list[Measured]]:
    """(the floor's rounds, medalist extract's rounds): `rounds` of each, interleaved (floor,
    medalist, floor, …: a busy machine slows both alike), on one table of `rows`, each
    extract into a fresh lake."""
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{DB}"')
    db = f"{server}/{DB}"
    floor: list[Measured] = []
    ours: list[Measured] = []
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
                copy = f"\\copy ({FLOOR_SQL}) TO '{root}/floor.csv' WITH (FORMAT csv)"
                floor.append(timed(["psql", db, "-qc", copy], "psql \\copy"))
                (root / "pipeline.yaml").write_text(yaml.safe_dump(config))
                cmd = [str(medalist), "extract", "db", "-c", str(root / "pipeline.yaml")]
                ours.append(timed(cmd, "medalist extract"))
                print(
                    f"extract round {len(ours)}: psql {floor[-1].seconds:.1f} s, medalist "
                    f"{ours[-1].seconds:.1f} s ({ours[-1].cpu_s:.1f} s CPU), "
                    f"{ours[-1].rss_mb:,.0f} MB",
                    flush=True,
                )
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    return floor, ours


def report(
    rows: int, rounds: int, floor: list[Measured], ours: list[Measured]
) -> tuple[list[str], float, float]:
    """(the extract section's lines, medalist / floor median wall ratio, peak RSS MB)."""
    ratio = _median(ours, "seconds") / _median(floor, "seconds")
    peak = max(m.rss_mb for m in ours)
    each = ", ".join(f"{a.seconds / b.seconds:.2f}" for a, b in zip(ours, floor, strict=True))
    lines = [
        "## Extract: a PostgreSQL table to landing",
        "",
        f"`medalist extract` of a {rows:,}-row table (7 columns, incremental on updated_at) "
        "into Parquet files in landing, against its floor `psql \\copy (SELECT * … ORDER BY "
        f"updated_at) TO file` (`benchmarks/extract.py`, `make bench-extract`); {rounds} "
        "round(s) interleaved, median wall time; CPU seconds are the client process's (user + "
        "system, from wait4), not the server's.",
        "",
        "| | median s | rounds s | median CPU s | peak RSS MB |",
        "|---|---:|---|---:|---:|",
    ]
    for name, runs in (("psql \\copy (floor)", floor), ("medalist extract", ours)):
        lines.append(
            f"| {name} | {_median(runs, 'seconds'):.1f} | "
            f"{', '.join(f'{m.seconds:.1f}' for m in runs)} | {_median(runs, 'cpu_s'):.1f} | "
            f"{max(m.rss_mb for m in runs):,.0f} |"
        )
    lines += [
        "",
        f"medalist / floor: {ratio:.2f} x (each round: {each}; target ≤ 1.5 x: "
        f"{_met(ratio <= 1.5)}); peak RSS ≤ 1 GB: {_met(peak <= 1024)}.",
    ]
    return lines, ratio, peak


def _median(runs: list[Measured], what: str) -> float:
    return statistics.median(getattr(m, what) for m in runs)


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    floor, ours = measure(args.rows, args.url, args.rounds)
    print("\n".join(report(args.rows, args.rounds, floor, ours)[0]))


if __name__ == "__main__":
    main()
