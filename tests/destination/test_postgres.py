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
