"""Rule values read as the column's type, when pipeline.yaml is loaded: `min: one` on an integer
column is a configuration error naming the key and the fix, not a run that fails in Transform
blaming the landed file.

The check asks DuckDB to cast the literal exactly as the rule will (`CAST('one' AS INTEGER)`,
`contracts.rules._typed_literal`), so what passes here casts in the run too.
"""

from __future__ import annotations

import duckdb

from medalist.config import ColumnSpec, Pipeline
from medalist.contracts.rules import literal

# What a value of each type is called, and an example, for the message and its fix.
_KINDS = {
    "integer": ("an integer", "1"),
    "bigint": ("an integer", "1"),
    "double": ("a number", "0.5"),
    "decimal": ("a number", "9.99"),
    "date": ("a date", "2026-01-31"),
    "timestamp": ("a timestamp", "'2026-01-31 08:00:00'"),
    "timestamptz": ("a timestamp", "'2026-01-31 08:00:00+00'"),
    "boolean": ("true or false", "true"),
}


def value_problems(pipeline: Pipeline, con: duckdb.DuckDBPyConnection) -> list[str]:
    """One line per rule value (min, max, accepted) its column's type cannot hold."""
    problems = []
    for name, dataset in pipeline.datasets.items():
        for col_name, spec in dataset.columns.items():
            key = f"datasets.{name}.columns.{col_name}"
            problems += _column_value_problems(key, spec, con)
    return problems


def _column_value_problems(key: str, spec: ColumnSpec, con: duckdb.DuckDBPyConnection) -> list[str]:
    ctype = spec.column_type
    if ctype.is_text:
        return []
    values: list[tuple[str, object]] = [
        (bound, getattr(spec, bound))
        for bound in ("min", "max")
        if getattr(spec, bound) is not None
    ]
    values += [("accepted", v) for v in spec.accepted or []]
    problems = []
    for rule, value in values:
        if _casts(con, value, ctype.sql):
            continue
        kind, example = _KINDS[ctype.name]
        shown = f"{rule}: {example}" if rule != "accepted" else f"accepted: [{example}, …]"
        problems.append(
            f"{key}.{rule}: {value!r} is not {kind}, and the column is {ctype}, so no row "
            f"could be checked against it. Write {kind} (e.g. `{shown}`), or change the "
            f"column's type"
        )
    return problems


def _casts(con: duckdb.DuckDBPyConnection, value: object, sql_type: str) -> bool:
    """Whether the rule's own cast of `value` gives a value (TRY_CAST: NULL when it cannot)."""
    if isinstance(value, bool) and sql_type != "BOOLEAN":
        return False  # YAML's `yes`/`true`: never meant as a number or a date
    try:
        row = con.execute(f"SELECT TRY_CAST({literal(value)} AS {sql_type})").fetchone()
    except duckdb.Error:  # e.g. an integer literal too large for the type's parser
        return False
    return row is not None and row[0] is not None
