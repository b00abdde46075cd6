"""Our column types as Glue/Athena (Hive) types: one mapping, pinned here."""

from __future__ import annotations

import duckdb
import pytest

from medalist.catalog.hive import UnmappedType, hive_type
from medalist.types import SIMPLE_TYPES, ColumnType

CASES = [
    ("BOOLEAN", "boolean"),
    ("INTEGER", "int"),
    ("BIGINT", "bigint"),
    ("SMALLINT", "smallint"),
    ("TINYINT", "tinyint"),
    ("HUGEINT", "decimal(38,0)"),
    ("UBIGINT", "decimal(20,0)"),
    ("DOUBLE", "double"),
    ("FLOAT", "float"),
    ("DECIMAL(12,2)", "decimal(12,2)"),
    ("DECIMAL(38, 10)", "decimal(38,10)"),
    ("VARCHAR", "string"),
    ("VARCHAR(20)", "string"),
    ("UUID", "string"),
    ("DATE", "date"),
    ("TIMESTAMP", "timestamp"),
    ("TIMESTAMP WITH TIME ZONE", "timestamp"),
    ("TIMESTAMPTZ", "timestamp"),
    ("TIMESTAMP_NS", "timestamp"),
    ("BLOB", "binary"),
    ("VARCHAR[]", "array<string>"),
    ("DECIMAL(9,2)[]", "array<decimal(9,2)>"),
    ('STRUCT(a INTEGER, "B c" DECIMAL(9,2))', "struct<a:int,b c:decimal(9,2)>"),
    ("MAP(VARCHAR, BIGINT[])", "map<string,array<bigint>>"),
]


@pytest.mark.parametrize(("ours", "hive"), CASES, ids=[c[0] for c in CASES])
def test_each_type_has_its_hive_counterpart(ours: str, hive: str) -> None:
    assert hive_type(ours) == hive


@pytest.mark.parametrize("name", [*SIMPLE_TYPES, "decimal(12,2)"])
def test_every_contract_type_maps(name: str) -> None:
    assert hive_type(ColumnType.parse(name).sql)


def test_the_types_duckdb_reports_for_silver_and_quarantine_files_map() -> None:
    """What `Engine.columns` gives back (DESCRIBE of a Parquet file), not only our spelling."""
    with duckdb.connect() as con:
        rows = con.execute(
            "DESCRIBE SELECT 1::BIGINT AS a, 1.5::DECIMAL(12,2) AS b, now() AS c, "
            "now()::TIMESTAMP AS d, ['x'] AS _rules, 'x' AS e, DATE '2026-01-01' AS f"
        ).fetchall()
    assert [hive_type(r[1]) for r in rows] == [
        "bigint",
        "decimal(12,2)",
        "timestamp",
        "timestamp",
        "array<string>",
        "string",
        "date",
    ]


def test_a_type_athena_cannot_read_is_refused_by_name() -> None:
    with pytest.raises(UnmappedType, match="'INTERVAL'"):
        hive_type("INTERVAL")
