"""The PostgreSQL adapter on its own: binary COPY has no implicit casts, so what the batches
carry must be cast to what the table holds; values survive the trip exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from medalist.config import LoadMode
from medalist.destination import TableRef
from medalist.destination.postgres import PostgresDestination
from tests.conftest import execute, read_table


def _load(url: str, table: pa.Table, mode: LoadMode = LoadMode.merge) -> int:
    dest = PostgresDestination(url)
    try:
        with dest.transaction():
            return dest.load(TableRef("silver", "things"), table.to_reader(), mode, ["id"], "run-1")
    finally:
        dest.close()


def test_narrower_batches_load_into_wider_columns(pg_url: str) -> None:
    execute(
        pg_url,
        "CREATE SCHEMA silver; CREATE TABLE silver.things (id bigint PRIMARY KEY, "
        "n bigint, price numeric(14,4), label text, at timestamp)",
    )
    execute(pg_url, "INSERT INTO silver.things VALUES (1, 10, 1.5, 'old', NULL)")
    batch = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "n": pa.array([7, None], pa.int32()),
            "price": pa.array([Decimal("2.25"), Decimal("-0.01")], pa.decimal128(5, 2)),
            "label": ["", None],
            "at": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5, 6), None], pa.timestamp("us")),
        }
    )
    assert _load(pg_url, batch) == 2
    assert read_table(pg_url, "silver.things", "id") == [
        (1, 7, Decimal("2.2500"), "", dt.datetime(2026, 1, 2, 3, 4, 5, 6)),
        (2, None, Decimal("-0.0100"), None, None),
    ]


def test_a_failed_load_leaves_the_table_as_it_was(pg_url: str) -> None:
    execute(pg_url, "CREATE SCHEMA silver; CREATE TABLE silver.things (id int PRIMARY KEY)")
    execute(pg_url, "INSERT INTO silver.things VALUES (1)")
    dest = PostgresDestination(pg_url)
    try:
        try:
            with dest.transaction():
                dest.load(
                    TableRef("silver", "things"),
                    pa.table({"id": pa.array([2, 3], pa.int32())}).to_reader(),
                    LoadMode.append,
                    [],
                    "run-1",
                )
                raise RuntimeError("the next table failed")
        except RuntimeError:
            pass
    finally:
        dest.close()
    assert read_table(pg_url, "silver.things", "id") == [(1,)]


class _Reread:
    """The rows again, as a Load reads silver again; counts how often it was asked."""

    def __init__(self, table: pa.Table) -> None:
        self.table, self.calls = table, 0

    def __call__(self) -> pa.RecordBatchReader:
        self.calls += 1
        return self.table.to_reader()


def _merge_new(url: str, table: pa.Table, reread: _Reread) -> int:
    dest = PostgresDestination(url)
    try:
        with dest.transaction():
            return dest.load(
                TableRef("silver", "things"),
                table.to_reader(),
                LoadMode.merge,
                ["id"],
                "run-2",
                constants={"_run_id": "run-2"},
                reread=reread,
            )
    finally:
        dest.close()


def _things(url: str) -> None:
    execute(
        url,
        "CREATE SCHEMA silver; CREATE TABLE silver.things (id bigint PRIMARY KEY, "
        "label text, _run_id text)",
    )
    execute(url, "INSERT INTO silver.things VALUES (1, 'old', 'run-1'), (2, 'old', 'run-1')")


def test_rows_whose_keys_are_new_go_in_with_their_lineage(pg_url: str) -> None:
    _things(pg_url)
    rows = pa.table({"id": [3, 4], "label": ["c", "d"], "_run_id": ["run-2", "run-2"]})
    reread = _Reread(rows)
    assert _merge_new(pg_url, rows, reread) == 2
    assert reread.calls == 0  # no key was there: the rows went in as they were read
    assert read_table(pg_url, "silver.things", "id") == [
        (1, "old", "run-1"),
        (2, "old", "run-1"),
        (3, "c", "run-2"),
        (4, "d", "run-2"),
    ]
    defaults = read_table(
        pg_url,
        "(SELECT column_name, column_default FROM information_schema.columns "
        "WHERE table_name = 'things' AND column_default IS NOT NULL) t",
        "1",
    )
    assert defaults == []  # the live table is left without lineage defaults


def test_a_key_already_loaded_makes_the_rows_merge_after_all(pg_url: str) -> None:
    _things(pg_url)
    # key 2 is there already (loaded by hand, or silver and the table parted ways)
    rows = pa.table({"id": [3, 2, 4], "label": ["c", "new", "d"], "_run_id": ["run-2"] * 3})
    reread = _Reread(rows)
    assert _merge_new(pg_url, rows, reread) == 3
    assert reread.calls == 1
    assert read_table(pg_url, "silver.things", "id") == [
        (1, "old", "run-1"),
        (2, "new", "run-2"),
        (3, "c", "run-2"),
        (4, "d", "run-2"),
    ]
