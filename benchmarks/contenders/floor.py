"""The floor: the least work any tool must do. DuckDB reads the CSV and writes Parquet (the
silver file), and psql's \\copy bulk-loads the CSV into PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb


def main(csv: str, url: str, workdir: str) -> None:
    out = Path(workdir) / "floor.parquet"
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}' (FORMAT parquet)")
    columns = duckdb.execute(f"DESCRIBE SELECT * FROM read_parquet('{out}')").fetchall()
    types = {"BIGINT": "bigint", "TIMESTAMP": "timestamp", "DOUBLE": "double precision"}
    defs = ", ".join(f"{name} {types.get(kind, 'text')}" for name, kind, *_ in columns)
    copy = f"\\copy sales FROM '{csv}' WITH (FORMAT csv, HEADER true)"
    for sql in (f"CREATE TABLE sales ({defs})", copy):
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True)
    rows = subprocess.run(
        ["psql", "-tA", url, "-c", "SELECT count(*) FROM sales"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(rows)


if __name__ == "__main__":
    main(*sys.argv[1:4])
