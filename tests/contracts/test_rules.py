"""The contract as SQL, checked on an in-memory DuckDB: no files, no I/O."""

from __future__ import annotations

import duckdb
import pytest

from medalist.config import DatasetSpec
from medalist.contracts.rules import Reading, checked_sql, lean_sql

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


# fmt: off
CORES = ["12", "-7", "+3", "1.50", "1.555", "1e3", "0x1F", "1_000", "NaN", "inf", "-Infinity",
         "2026-01-01", "2026-01-01 10:00:00", "2026-01-01T10:00:00", "2026-1-1", "20260101",
         "abc", "", "1,5", "9223372036854775808", "1 2", "2026-01-01 10:00:00+02", "epoch",
         "today", ".5", "00012", "12.345e1", "2147483648", "true", "2026-02-30", "10:00"]
# fmt: on
BLANKS = ["", " ", "  ", "\t", "\n", "\r", "\x0b", "\xa0", "\u3000", " \t"]
TOLERANT = ["INTEGER", "BIGINT", "DOUBLE", "DECIMAL(12,2)", "DECIMAL(38,10)", "DATE", "TIMESTAMP"]


@pytest.mark.parametrize("sql_type", TOLERANT, ids=TOLERANT)
def test_a_value_that_casts_as_delivered_casts_the_same_once_trimmed(sql_type):
    """The one-pass check casts text as delivered and trims only what fails to cast
    (rules._trim_when_needed): sound only while DuckDB's casts skip the blanks around a value
    and never read a value with blanks differently from the value trimmed."""
    values = {before + core + after for core in CORES for before in BLANKS for after in BLANKS}
    con = duckdb.connect()
    con.execute("CREATE TABLE v (x VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [[v] for v in values])
    differ = con.execute(
        f"SELECT x FROM v WHERE TRY_CAST(x AS {sql_type}) IS NOT NULL AND TRY_CAST(x AS "
        f"{sql_type}) IS DISTINCT FROM TRY_CAST(NULLIF(trim(x), '') AS {sql_type})"
    ).fetchall()
    taken = con.execute(f"SELECT count(TRY_CAST(x AS {sql_type})) FROM v").fetchall()[0][0]
    assert differ == [] and taken > 100


def test_the_one_pass_check_flags_exactly_the_rows_the_full_check_does():
    """lean_sql (cast as delivered, trim on failure) against checked_sql's full reading, on
    values with blanks, unicode spaces, and text that casts only once trimmed."""
    dataset = DatasetSpec.model_validate(
        {
            "source": "x/*.csv",
            "columns": {
                "id": {"type": "bigint", "required": True},
                "day": {"type": "date", "min": "2026-01-01"},
                "amount": {"type": "decimal(8,2)", "min": 0, "accepted": [1.5, 2, 30]},
                "score": {"type": "double"},
                "code": {"type": "integer", "min_length": 2},
            },
        }
    )
    rows = [
        (f"{a}{i}{b}", f"{a}2026-0{1 + i % 3}-01{b}", f"{b}{amount}{a}", score, f"{a}{i}")
        for i, (a, b) in enumerate((x, y) for x in BLANKS for y in BLANKS)
        for amount, score in (("1.50", "1e3"), (" 30 ", "NaN"), ("-1", " inf"), ("", "x"))
    ]
    rows += [("", "", "", "", ""), ("\xa07", "\u30002026-01-01", "2", "1", "12")]
    columns = list(dataset.columns)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({', '.join(c + ' VARCHAR' for c in columns)})")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})", rows)
    reading = Reading(dict.fromkeys(columns, "VARCHAR"), {c: c for c in columns})
    typed = ", ".join(columns)
    lean_rows = con.execute(f"SELECT {typed}, _bad FROM ({lean_sql(dataset, 't', reading)})")
    lean_rows = lean_rows.fetchall()
    full_sql = checked_sql(dataset, "(SELECT 0 AS _source_row, * FROM t)", reading)
    full_rows = con.execute(f"SELECT {typed}, len(_rules) > 0 AS _bad FROM ({full_sql})")
    full_rows = full_rows.fetchall()
    assert lean_rows == full_rows
    assert 0 < sum(r[-1] for r in full_rows) < len(full_rows)
