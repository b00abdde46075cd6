"""The contract as SQL: pure functions from a contract to DuckDB expressions.

No I/O here. `checked_sql` turns a relation of rows as delivered (plus `_source_row`) into the
same rows with every contract column typed and `_rules` / `_reason` listing each rule broken.
Example: quantity '0' with `min: 1` gives _rules ['quantity:min'] and _reason
"quantity 0 is below the minimum 1".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from medalist.config import ColumnSpec, DatasetSpec


def ident(name: str) -> str:
    """Quote an identifier for DuckDB and PostgreSQL."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A SQL literal for a value from pipeline.yaml."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class Check:
    """One rule on one column: the label stored in _rules, a condition, a sentence."""

    label: str
    broken: str  # SQL that is TRUE when the row breaks the rule
    reason: str  # SQL producing the human sentence


def _typed_literal(value: object, spec: ColumnSpec) -> str:
    return f"CAST({literal(value)} AS {spec.column_type.sql})"


def column_checks(name: str, spec: ColumnSpec, raw: str, typed: str) -> list[Check]:
    """Every rule of one column. `raw` is the cleaned delivered value, `typed` its cast."""
    quoted = f"'''' || CAST({raw} AS VARCHAR) || ''''"
    checks = [
        Check(
            f"{name}:type",
            f"({raw} IS NOT NULL AND {typed} IS NULL)",
            f"{literal(name + ': ')} || {quoted} || {literal(' is not a valid ' + spec.type)}",
        ),
    ]
    if spec.required:
        checks.append(
            Check(f"{name}:required", f"({raw} IS NULL)", literal(f"{name} is required but empty"))
        )
    if spec.min is not None:
        checks.append(
            Check(
                f"{name}:min",
                f"({typed} < {_typed_literal(spec.min, spec)})",
                f"{literal(name + ' ')} || CAST({typed} AS VARCHAR) || "
                f"{literal(f' is below the minimum {spec.min}')}",
            )
        )
    if spec.max is not None:
        checks.append(
            Check(
                f"{name}:max",
                f"({typed} > {_typed_literal(spec.max, spec)})",
                f"{literal(name + ' ')} || CAST({typed} AS VARCHAR) || "
                f"{literal(f' is above the maximum {spec.max}')}",
            )
        )
    if spec.accepted:
        values = ", ".join(_typed_literal(v, spec) for v in spec.accepted)
        shown = ", ".join(str(v) for v in spec.accepted)
        checks.append(
            Check(
                f"{name}:accepted",
                f"({typed} NOT IN ({values}))",
                f"{literal(name + ' ')} || {quoted} || {literal(f' is not one of {shown}')}",
            )
        )
    return checks


def cleaned(source_col: str | None, source_type: str | None) -> str:
    """The delivered value with text trimmed and '' read as missing."""
    if source_col is None:
        return "NULL"
    col = ident(source_col)
    if source_type is None or source_type.upper() == "VARCHAR":
        return f"NULLIF(trim({col}), '')"
    return col


def checked_sql(
    dataset: DatasetSpec,
    source: str,
    source_columns: Mapping[str, str],
    mapping: Mapping[str, str | None],
) -> str:
    """SELECT over `source` adding typed contract columns, `_rules` and `_reason`.

    `source_columns` maps each delivered column to its engine type; `mapping` maps each
    contract column to the delivered column that feeds it (None when the file lacks it).
    Delivered columns keep their names prefixed with `_raw_` so quarantine can show them.
    """
    inner, checks = [], []
    for name, spec in dataset.columns.items():
        src = mapping.get(name)
        raw = cleaned(src, source_columns.get(src) if src else None)
        typed = f"TRY_CAST({raw} AS {spec.column_type.sql})"
        inner.append(f"{typed} AS {ident(name)}")
        inner.append(f"{raw} AS {ident('_clean_' + name)}")
        checks += column_checks(name, spec, ident("_clean_" + name), ident(name))
    raw_cols = [f"{ident(c)} AS {ident('_raw_' + c)}" for c in source_columns]
    rules = ", ".join(f"CASE WHEN {c.broken} THEN {literal(c.label)} END" for c in checks)
    reasons = ", ".join(f"CASE WHEN {c.broken} THEN {c.reason} END" for c in checks)
    return (
        f"SELECT *, list_filter([{rules}], lambda r: r IS NOT NULL) AS _rules, "
        f"array_to_string(list_filter([{reasons}], lambda r: r IS NOT NULL), '; ') AS _reason "
        f"FROM (SELECT _source_row, {', '.join(inner + raw_cols)} FROM {source})"
    )


def silver_sql(dataset: DatasetSpec, checked: str, lineage: str) -> str:
    """Valid rows, typed, one per primary key (the last in the file wins), with lineage."""
    cols = ", ".join(ident(c) for c in dataset.columns)
    dedupe = ""
    if dataset.primary_key:
        key = ", ".join(ident(c) for c in dataset.primary_key)
        dedupe = f" QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _source_row DESC) = 1"
    return f"SELECT {cols}, {lineage}, _source_row FROM {checked} WHERE len(_rules) = 0{dedupe}"


def quarantine_sql(source_columns: Mapping[str, str], checked: str, lineage: str) -> str:
    """Broken rows as delivered (text), every rule they broke, a sentence, and lineage."""
    cols = ", ".join(f"CAST({ident('_raw_' + c)} AS VARCHAR) AS {ident(c)}" for c in source_columns)
    return (
        f"SELECT {cols}, _rules, _reason, {lineage}, _source_row FROM {checked} "
        f"WHERE len(_rules) > 0"
    )
