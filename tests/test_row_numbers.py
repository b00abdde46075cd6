"""A big file is read by several threads at once; every row must still keep its place in the
file (`_source_row`), in silver and in quarantine, past broken and malformed lines."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from medalist.runlog import Status
from tests.conftest import HEADER, ORDERS_CONTRACT

ROWS = 600_000  # about 25 MB: DuckDB splits the reading between its threads
BROKEN_EVERY = 997  # quantity 0 breaks `min: 1`
MALFORMED_EVERY = 150_001  # a line with one field too many


def _line(row: int) -> str:
    quantity = 0 if row % BROKEN_EVERY == 0 else 1 + row % 5
    line = f"{row},2026-11-24 09:00:00,{row % 300},{quantity},{row % 90}.25,PAID"
    return line + ",surplus\n" if row % MALFORMED_EVERY == 0 else line + "\n"


def _write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        out.write(HEADER)
        for start in range(1, ROWS + 1, 50_000):
            out.write("".join(_line(r) for r in range(start, min(start + 50_000, ROWS + 1))))


PATHS = {
    "streamed": ORDERS_CONTRACT,
    "table": {**ORDERS_CONTRACT, "rules": [{"name": "never", "check": "true", "on_fail": "warn"}]},
}


@pytest.mark.parametrize("path", PATHS, ids=PATHS)
def test_every_row_keeps_its_place_in_the_file(make_project, path):
    project = make_project(datasets={"orders": PATHS[path]}, models={})
    _write(project.landing / "orders" / "big.csv")
    (run,) = project.run().runs
    assert run.status == Status.SUCCEEDED, run.error

    malformed = ROWS // MALFORMED_EVERY
    broken = sum(1 for r in range(1, ROWS + 1) if r % BROKEN_EVERY == 0 and r % MALFORMED_EVERY)
    lake = project.root / "lake"
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW silver AS FROM '{lake}/silver/orders/*.parquet'")
        assert con.sql(
            "SELECT count(*), count(*) FILTER (WHERE _source_row <> order_id) FROM silver"
        ).fetchall() == [(ROWS - broken - malformed, 0)]
        con.execute(f"CREATE VIEW quarantine AS FROM '{lake}/quarantine/orders/*.parquet'")
        rows = con.sql(
            "SELECT _rules[1], count(*), count(*) FILTER (WHERE _source_row <> "
            "CAST(coalesce(order_id, split_part(_raw_line, ',', 1)) AS BIGINT)) "
            "FROM quarantine GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [("quantity:min", broken, 0), ("row:malformed", malformed, 0)]
    assert run.rows_in == ROWS
