"""Rows Spark checked, counted and numbered on the driver (engine.spark.rows): a row's number is
its place in the file whatever split it came from, and rule counts name the first row that
broke each rule. No Spark needed: the part files are written here as Spark writes them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from medalist.engine.spark.rows import SPLIT_BITS, census, rows_per_split

LISTS = pa.list_(pa.string())


def part(path: Path, ids: list[int], bad: list[bool], rules: list[list[str] | None]) -> Path:
    pq.write_table(
        pa.table(
            {
                "_source_row": pa.array(ids, pa.int64()),
                "_bad": bad,
                "_rules": pa.array(rules, LISTS),
                "_warnings": pa.array([None] * len(ids), LISTS),
                "_fails": pa.array([None] * len(ids), LISTS),
            }
        ),
        path,
    )
    return path


def test_rows_are_numbered_across_splits_and_rules_name_their_first_row(tmp_path):
    split = 1 << SPLIT_BITS
    parts = [  # split 0: 3 rows, split 1: none, split 2: 2 rows (written out of order)
        part(
            tmp_path / "part-1.parquet",
            [2 * split, 2 * split + 1],
            [True, False],
            [["qty:min", "qty:max"], None],
        ),
        part(
            tmp_path / "part-0.parquet", [0, 1, 2], [False, True, False], [None, ["qty:min"], None]
        ),
    ]

    found = census(parts)

    assert (found.rows, found.bad) == (5, 2)
    assert dict(found.rule_rows) == {"qty:min": 2, "qty:max": 1}
    assert found.rule_first == {"qty:min": 2, "qty:max": 4}
    number = found.numbering()
    assert number(pa.array([0, 2, 2 * split, 2 * split + 1], pa.int64())).to_pylist() == [
        1,
        3,
        4,
        5,
    ]


def test_rows_per_split_come_from_the_footers_or_not_at_all(tmp_path):
    split = 1 << SPLIT_BITS
    parts = [
        part(tmp_path / "part-0.parquet", [0, 1, 2], [False] * 3, [None] * 3),
        part(tmp_path / "part-2.parquet", [2 * split, 2 * split + 1], [False] * 2, [None] * 2),
        part(tmp_path / "part-3.parquet", [], [], []),  # a task that kept no row
    ]
    assert rows_per_split(parts) == {0: 3, 2: 2} == census(parts).per_split
    # a file holding rows of two splits: its footer cannot say how many each has
    mixed = part(tmp_path / "part-9.parquet", [1, split], [False] * 2, [None] * 2)
    assert rows_per_split([mixed]) is None
