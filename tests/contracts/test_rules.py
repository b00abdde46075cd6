"""The contract as SQL, checked on an in-memory DuckDB: no files, no I/O."""

from __future__ import annotations

import duckdb
import pytest

from medalist.config import DatasetSpec
from medalist.contracts.rules import Reading, checked_sql

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


def _checked(dataset: DatasetSpec, rows: list[tuple], silver: str = "", **reading) -> list[tuple]:
    """_rules, _reason, _warnings, _fails of each row, in row order."""
    columns = list(dataset.columns)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA silver")
    con.execute(silver or "CREATE VIEW silver.x AS SELECT 0 AS id WHERE false")
    con.execute(
        f"CREATE TABLE t (_source_row BIGINT, {', '.join(c + ' VARCHAR' for c in columns)})"
    )
    for i, row in enumerate(rows, start=1):
        con.execute(f"INSERT INTO t VALUES ({i}{', ?' * len(columns)})", list(row))
    source = dict.fromkeys(columns, "VARCHAR")
    sql = checked_sql(
        dataset, "t", Reading(source, {c: c for c in columns}, dataset_name="x", **reading)
    )
    return con.execute(
        f"SELECT _rules, _reason, _warnings, _fails FROM ({sql}) ORDER BY _source_row"
    ).fetchall()


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
    ("nan_is_no_number", ("1", None, "NaN", None), ["score:type"], None),
    ("infinity_is_no_number", ("1", None, "Infinity", None), ["score:type"], None),
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
    ((got_rules, got_reason, _, _),) = _checked(DATASET, [row])
    assert got_rules == rules
    if reason is not None:
        assert got_reason == reason
    else:
        assert got_reason.count("; ") == len(rules) - 1


TEXT = DatasetSpec.model_validate(
    {
        "source": "x/*.csv",
        "columns": {
            "code": {"pattern": "[A-Z]{3}-\\d+", "min_length": 5, "max_length": 8},
            "day": {"type": "date", "format": ["%d/%m/%Y", "%Y-%m-%d"]},
            "price": {"type": "decimal(10,2)"},
        },
    }
)


@pytest.mark.parametrize(
    ("row", "rules"),
    [
        (("ABC-12", "31/12/2026", "1,50"), []),
        (("ABC-12", "2026-12-31", None), []),
        (("abc-12", None, None), ["code:pattern"]),
        (("AB-1", None, None), ["code:pattern", "code:min_length"]),
        (("ABC-123456", None, None), ["code:max_length"]),
        ((None, "12/31/2026", None), ["day:type"]),
        ((None, None, "1.234,50"), ["price:type"]),
    ],
)
def test_pattern_lengths_date_formats_and_decimal_comma(row, rules):
    ((got, reason, _, _),) = _checked(TEXT, [row], decimal_comma=True)
    assert got == rules
    if "day:type" in rules:
        assert "is not a valid date in format" in reason


def test_row_rules_quarantine_warn_or_fail_and_null_passes():
    dataset = DatasetSpec.model_validate(
        {
            "source": "x/*.csv",
            "columns": {"qty": {"type": "integer"}, "price": {"type": "double"}},
            "rules": [
                {"name": "sane_total", "check": "qty * price < 100"},
                {"name": "round_qty", "check": "qty % 10 <> 0", "on_fail": "warn"},
                {"name": "no_free", "check": "price > 0", "on_fail": "fail"},
            ],
        }
    )

    rows = _checked(dataset, [("2", "3"), ("51", "3"), ("10", "0"), (None, "1")])

    assert [(r[0], r[2], r[3]) for r in rows] == [
        ([], [], []),
        (["sane_total"], [], []),
        ([], ["warn:round_qty"], ["no_free"]),
        ([], [], []),  # NULL is not a broken rule, as in a SQL CHECK
    ]
    assert rows[1][1] == "breaks rule sane_total: qty * price < 100"


def test_unique_within_the_file_keeps_the_last_and_refuses_values_silver_holds():
    dataset = DatasetSpec.model_validate(
        {
            "source": "x/*.csv",
            "primary_key": ["id"],
            "columns": {"id": {"type": "bigint"}, "email": {"unique": True}},
        }
    )
    silver = (
        "CREATE VIEW silver.x AS SELECT * FROM (VALUES (9, 'taken@x'), (1, 'mine@x')) v(id, email)"
    )

    rows = _checked(
        dataset,
        [("1", "a@x"), ("2", "a@x"), ("3", "taken@x"), ("1", "mine@x"), ("4", None)],
        silver,
    )

    assert [r[0] for r in rows] == [["email:unique"], [], ["email:unique"], [], []]
    assert rows[0][1] == "email 'a@x' appears again further down the file"
    assert rows[2][1] == "email 'taken@x' is already used by another row in silver"


def test_references_need_the_key_in_the_other_datasets_silver():
    dataset = DatasetSpec.model_validate(
        {
            "source": "x/*.csv",
            "columns": {"customer_id": {"type": "bigint", "references": "customers.id"}},
        }
    )
    silver = "CREATE VIEW silver.customers AS SELECT * FROM (VALUES (7), (8)) v(id)"

    rows = _checked(dataset, [("7",), ("9",), (None,)], silver)

    assert [r[0] for r in rows] == [[], ["customer_id:references"], []]
    assert rows[1][1] == "customer_id '9' is not a id of customers"
