"""The contract as SQL, checked on an in-memory DuckDB: no files, no I/O."""

from __future__ import annotations

import duckdb
import pytest

from medalist.config import DatasetSpec
from medalist.contracts.rules import checked_sql

DATASET = DatasetSpec.model_validate(
    {
        "source": "x/*.csv",
        "columns": {
            "id": {"type": "bigint", "required": True},
            "day": {"type": "date", "min": "2026-01-01"},
            "score": {"type": "double", "min": 0, "max": 10},
            "grade": {"type": "varchar", "accepted": ["A", "B"]},
        },
    }
)
SOURCE = {"id": "VARCHAR", "day": "VARCHAR", "score": "VARCHAR", "grade": "VARCHAR"}


def _check(row: tuple) -> tuple[list[str], str]:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (_source_row BIGINT, id VARCHAR, day VARCHAR, score VARCHAR, grade VARCHAR)"
    )
    con.execute("INSERT INTO t VALUES (1, ?, ?, ?, ?)", row)
    sql = checked_sql(DATASET, "t", SOURCE, {c: c for c in SOURCE})
    return con.execute(f"SELECT _rules, _reason FROM ({sql})").fetchall()[0]


CASES = [
    ("valid", ("1", "2026-05-01", "9.5", "A"), [], ""),
    (
        "blank_is_missing",
        (" ", "2026-05-01", "1", "A"),
        ["id:required"],
        "id is required but empty",
    ),
    ("not_a_number", ("x1", None, None, None), ["id:type"], "id: 'x1' is not a valid bigint"),
    (
        "not_a_date",
        ("1", "31/12/2026", None, None),
        ["day:type"],
        "day: '31/12/2026' is not a valid date",
    ),
    (
        "date_below_min",
        ("1", "2025-12-31", None, None),
        ["day:min"],
        "day 2025-12-31 is below the minimum 2026-01-01",
    ),
    ("above_max", ("1", None, "10.5", None), ["score:max"], "score 10.5 is above the maximum 10"),
    ("not_accepted", ("1", None, None, "C"), ["grade:accepted"], "grade 'C' is not one of A, B"),
    (
        "every_rule_listed",
        (None, "x", "-1", "Z"),
        ["id:required", "day:type", "score:min", "grade:accepted"],
        None,
    ),
    ("whitespace_trimmed", (" 7 ", " 2026-05-01 ", " 3 ", "B"), [], ""),
]


@pytest.mark.parametrize(
    ("row", "rules", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_is_named_with_a_sentence(row, rules, reason):
    got_rules, got_reason = _check(row)
    assert got_rules == rules
    if reason is not None:
        assert got_reason == reason
    else:
        assert got_reason.count("; ") == len(rules) - 1
