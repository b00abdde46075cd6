"""The contract as SQL: pure functions from a contract to DuckDB expressions.

No I/O here. `checked_sql` turns a relation of rows as delivered (plus `_source_row`) into the
same rows with every contract column typed and three lists: `_rules` (rules broken that send the
row to quarantine), `_warnings` (warn rules: the row stays) and `_fails` (rules that fail the
whole file), plus `_reason`, one sentence per quarantining rule.
Example: quantity '0' with `min: 1` gives _rules ['quantity:min'] and _reason
"quantity 0 is below the minimum 1".

Rules that look beyond the row (`unique`, `references`) read `silver.<dataset>` views, which the
caller exposes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from medalist.config import ColumnSpec, DatasetSpec, OnFail
from medalist.contracts.dialect import DUCKDB, Dialect


def ident(name: str) -> str:
    """Quote an identifier for DuckDB and PostgreSQL."""
    return DUCKDB.ident(name)


def literal(value: object) -> str:
    """A SQL literal for a value from pipeline.yaml."""
    return DUCKDB.literal(value)


@dataclass(frozen=True)
class Check:
    """One rule: the label stored in _rules, a condition, a sentence, what breaking it does."""

    label: str
    broken: str  # SQL that is TRUE when the row breaks the rule
    reason: str  # SQL producing the human sentence
    on_fail: OnFail = OnFail.quarantine


@dataclass(frozen=True)
class Reading:
    """How delivered values become typed: the file's columns and the dialect's number format."""

    source_columns: Mapping[str, str]  # delivered column -> engine type
    mapping: Mapping[str, str | None]  # contract column -> delivered column (None: absent)
    extras: Mapping[str, str] = field(default_factory=dict)  # evolved column -> SQL type
    decimal_comma: bool = False
    dataset_name: str = ""  # for unique checks against silver.<dataset_name>
    dialect: Dialect = DUCKDB  # the engine's spelling of the SQL


def _typed_literal(value: object, spec: ColumnSpec, d: Dialect = DUCKDB) -> str:
    return f"CAST({d.literal(value)} AS {d.type(spec.column_type.sql)})"


def typed_value(
    spec: ColumnSpec, raw: str, decimal_comma: bool = False, d: Dialect = DUCKDB
) -> str:
    """The SQL turning a cleaned delivered value into the contract type, NULL when it cannot."""
    ctype = spec.column_type
    if spec.format is not None:
        formats = [spec.format] if isinstance(spec.format, str) else spec.format
        return d.try_cast(d.strptime(d.text(raw), formats), ctype.sql)
    if decimal_comma and ctype.is_numeric:
        raw = f"replace({d.text(raw)}, ',', '.')"
    typed = d.try_cast(raw, ctype.sql)
    if ctype.name == "double":  # NaN and Infinity cast, but are no measurement
        typed = f"(CASE WHEN {d.isfinite(typed)} THEN {typed} END)"
    return typed


def _quoted(value: str, d: Dialect = DUCKDB) -> str:
    """SQL for the value as text in single quotes, for sentences: 'x1' (cut at 80 characters:
    the row keeps the whole value)."""
    text = d.text(value)
    dots, quote = d.literal("..."), d.literal("'")
    short = f"CASE WHEN length({text}) > 80 THEN left({text}, 77) || {dots} ELSE {text} END"
    return f"{quote} || {short} || {quote}"


def column_checks(
    name: str, spec: ColumnSpec, raw: str, typed: str, d: Dialect = DUCKDB
) -> list[Check]:
    """Every rule of one column that looks at the row alone. `raw` is the cleaned delivered
    value, `typed` its cast."""
    literal = d.literal
    quoted = _quoted(raw, d)
    shown_type = spec.type + (f" in format {spec.format}" if spec.format else "")
    checks = [
        Check(
            f"{name}:type",
            f"({raw} IS NOT NULL AND {typed} IS NULL)",
            f"{literal(name + ': ')} || {quoted} || {literal(' is not a valid ' + shown_type)}",
        ),
    ]
    if spec.required:
        checks.append(
            Check(f"{name}:required", f"({raw} IS NULL)", literal(f"{name} is required but empty"))
        )
    for bound, op, word in (("min", "<", "below the minimum"), ("max", ">", "above the maximum")):
        value = getattr(spec, bound)
        if value is not None:
            checks.append(
                Check(
                    f"{name}:{bound}",
                    f"({typed} {op} {_typed_literal(value, spec, d)})",
                    f"{literal(name + ' ')} || {d.text(typed)} || {literal(f' is {word} {value}')}",
                )
            )
    if spec.accepted:
        values = ", ".join(_typed_literal(v, spec, d) for v in spec.accepted)
        shown = ", ".join(str(v) for v in spec.accepted)
        checks.append(
            Check(
                f"{name}:accepted",
                f"({typed} NOT IN ({values}))",
                f"{literal(name + ' ')} || {quoted} || {literal(f' is not one of {shown}')}",
            )
        )
    text = d.text(raw)
    if spec.pattern is not None:
        checks.append(
            Check(
                f"{name}:pattern",
                f"(NOT {d.full_match(text, spec.pattern)})",
                f"{literal(name + ' ')} || {quoted} || "
                f"{literal(f' does not match {spec.pattern}')}",
            )
        )
    checks.append(  # a field far over any sane size costs its row, not the file
        Check(
            f"{name}:too_long",
            f"({d.byte_length(text)} > {FIELD_LIMIT})",
            f"{literal(name + ' has ')} || {d.text(d.byte_length(text))} || "
            f"{literal(f' bytes, over the {FIELD_LIMIT:,} a field may hold (kept cut short)')}",
        )
    )
    for bound, op, word in (("min_length", "<", "shorter"), ("max_length", ">", "longer")):
        value = getattr(spec, bound)
        if value is not None:
            checks.append(
                Check(
                    f"{name}:{bound}",
                    f"(length({text}) {op} {value})",
                    f"{literal(name + ' has ')} || length({text}) || "
                    f"{literal(f' characters, {word} than {value}')}",
                )
            )
    return checks


def cleaned(source_col: str | None, source_type: str | None, d: Dialect = DUCKDB) -> str:
    """The delivered value with text trimmed and '' read as missing."""
    if source_col is None:
        return d.null_text()
    col = d.ident(source_col)
    if source_type is None or source_type.upper() == "VARCHAR":
        return f"NULLIF(trim({col}), '')"
    return col


# Types whose casts from text skip the blanks around a value, and never take a value they
# would read differently once trimmed (pinned over a corpus by tests/contracts/test_rules.py).
BLANK_TOLERANT_TYPES = frozenset({"integer", "bigint", "double", "decimal", "date", "timestamp"})


def _trim_when_needed(spec: ColumnSpec, source_type: str | None) -> bool:
    """Whether a column's typed value (and whether it is missing) can come from the value as
    delivered, trimming only the values that do not cast: the text itself is never shown or
    measured (no format, pattern or length rule)."""
    return (
        (source_type is None or source_type.upper() == "VARCHAR")
        and spec.column_type.name in BLANK_TOLERANT_TYPES
        and spec.format is None
        and spec.pattern is None
        and spec.min_length is None
        and spec.max_length is None
    )


def _set_checks(dataset: DatasetSpec, reading: Reading) -> tuple[list[str], list[Check]]:
    """Rules over the whole file and silver: `unique` and `references`. Returns the flag
    columns to compute (window functions, EXISTS) and the checks reading those flags."""
    d = reading.dialect
    ident, literal = d.ident, d.literal
    flags: list[str] = []
    checks: list[Check] = []
    key = [ident(c) for c in dataset.primary_key]
    for name, spec in dataset.columns.items():
        col, quoted = ident(name), _quoted(ident(name), d)
        if spec.unique:
            flag = ident(f"_unique_{name}")
            silver = d.zone("silver", reading.dataset_name)
            # A later row with the same value wins inside the file; a value silver already
            # holds for another key is taken.
            flags.append(
                f"CASE WHEN {col} IS NULL THEN 0 "
                f"WHEN row_number() OVER (PARTITION BY {col} ORDER BY _source_row DESC) > 1 "
                f"THEN 1 WHEN {d.taken(silver, col, key)} THEN 2 ELSE 0 END AS {flag}"
            )
            checks.append(
                Check(
                    f"{name}:unique",
                    f"({flag} > 0)",
                    f"{literal(name + ' ')} || {quoted} || CASE {flag} WHEN 1 THEN "
                    f"{literal(' appears again further down the file')} ELSE "
                    f"{literal(' is already used by another row in silver')} END",
                )
            )
        if spec.references is not None:
            target, _, column = spec.references.partition(".")
            flag = ident(f"_ref_{name}")
            found = d.found(d.zone("silver", target), ident(column), col)
            flags.append(f"({col} IS NOT NULL AND NOT {found}) AS {flag}")
            checks.append(
                Check(
                    f"{name}:references",
                    flag,
                    f"{literal(name + ' ')} || {quoted} || "
                    f"{literal(f' is not a {column} of {target}')}",
                )
            )
    return flags, checks


def _row_rule_checks(dataset: DatasetSpec, d: Dialect = DUCKDB) -> list[Check]:
    return [
        Check(
            rule.name if rule.on_fail != OnFail.warn else f"warn:{rule.name}",
            f"(NOT coalesce(CAST(({d.user_sql(rule.check)}) AS BOOLEAN), true))",
            d.literal(f"breaks rule {rule.name}: {rule.check}"),
            rule.on_fail,
        )
        for rule in dataset.rules
    ]


def _listed(checks: list[Check], reasons: bool = False, d: Dialect = DUCKDB) -> str:
    """A list of the labels (or reasons) of the checks a row breaks."""
    items = [
        f"CASE WHEN {c.broken} THEN {c.reason if reasons else d.literal(c.label)} END"
        for c in checks
    ]
    return d.labels(items, [c.broken for c in checks])


def checked_sql(
    dataset: DatasetSpec,
    source: str,
    reading: Reading,
    *,
    reasons: bool = True,
    carry: tuple[str, ...] = (),
) -> str:
    """SELECT over `source` adding typed contract (and evolved) columns, `_rules`, `_reason`,
    `_warnings` and `_fails`. Delivered columns keep their names prefixed with `_raw_` so
    quarantine can show them; `carry` names columns of `source` passed through as they are
    (a batch's file of each row)."""
    d = reading.dialect
    ident = d.ident
    inner, checks, precast = [], [], []
    for name, spec in dataset.columns.items():
        src = reading.mapping.get(name)
        src_type = reading.source_columns.get(src) if src else None
        raw = cleaned(src, src_type, d)
        typed = typed_value(spec, raw, reading.decimal_comma, d)
        if not reasons and src is not None and _trim_when_needed(spec, src_type):
            # Trimming every value costs more than the casts (0.8 s of 1.6 s on 5M rows):
            # cast the text as delivered (once, a level below), trim only what fails so.
            cast = ident("_cast_" + name)
            precast.append(f"{typed_value(spec, ident(src), reading.decimal_comma, d)} AS {cast}")
            typed = f"(CASE WHEN {cast} IS NOT NULL THEN {cast} ELSE {typed} END)"
            raw = f"(CASE WHEN {cast} IS NOT NULL THEN {ident(src)} ELSE {raw} END)"
        inner.append(f"{typed} AS {ident(name)}")
        inner.append(f"{raw} AS {ident('_clean_' + name)}")
        checks += column_checks(name, spec, ident("_clean_" + name), ident(name), d)
    for name, sql_type in reading.extras.items():  # evolved columns: only their type
        raw = cleaned(name, reading.source_columns.get(name), d)
        clean = ident("_clean_" + name)
        inner += [f"{d.try_cast(raw, sql_type)} AS {ident(name)}", f"{raw} AS {clean}"]
        checks.append(
            Check(
                f"{name}:type",
                f"({clean} IS NOT NULL AND {ident(name)} IS NULL)",
                f"{d.literal(name + ': ')} || {_quoted(clean, d)} || "
                f"{d.literal(' is not a valid ' + sql_type.lower())}",
            )
        )
    raw_cols = [f"{ident(c)} AS {ident('_raw_' + c)}" for c in reading.source_columns]
    flags, set_checks = _set_checks(dataset, reading)
    checks += set_checks
    checks += _row_rule_checks(dataset, d)
    quarantining = [c for c in checks if c.on_fail == OnFail.quarantine]
    warning = [c for c in checks if c.on_fail == OnFail.warn]
    failing = [c for c in checks if c.on_fail == OnFail.fail]
    if precast:
        source = f"(SELECT *, {', '.join(precast)} FROM {source})"
    kept = ["_source_row", *(ident(c) for c in carry)]
    typed = f"(SELECT {', '.join(kept + inner + raw_cols)} FROM {source})"
    flagged = f"(SELECT t.*{''.join(', ' + f for f in flags)} FROM {typed} AS t)"
    if not reasons:  # only whether rows break a rule (lean_sql): half the SQL to plan
        return f"SELECT *, {_listed(quarantining, d=d)} AS _rules FROM {flagged}"
    return (
        f"SELECT *, {_listed(quarantining, d=d)} AS _rules, "
        f"{d.joined(_listed(quarantining, True, d), '; ')} AS _reason, "
        f"{_listed(warning, d=d)} AS _warnings, {_listed(failing, d=d)} AS _fails "
        f"FROM {flagged}"
    )


def silver_sql(
    dataset: DatasetSpec,
    valid: str,
    lineage: str,
    extras: Mapping[str, str],
    dedupe_needed: bool = True,
    d: Dialect = DUCKDB,
) -> str:
    """The `valid` rows (typed, with _source_row), one per primary key (the last in the file
    wins), with lineage."""
    cols = ", ".join(d.ident(c) for c in [*dataset.columns, *extras])
    if dataset.primary_key and dedupe_needed:
        key = ", ".join(d.ident(c) for c in dataset.primary_key)
        return d.latest(f"{cols}, {lineage}, _source_row", valid, key, "_source_row DESC")
    return f"SELECT {cols}, {lineage}, _source_row FROM {valid}"


def row_checks_only(dataset: DatasetSpec) -> bool:
    """Whether every check looks at one row alone and sends it to quarantine: then one pass
    can type and check the file (`lean_sql`) without knowing each row's place in it."""
    return not any(c.unique or c.references for c in dataset.columns.values()) and all(
        r.on_fail == OnFail.quarantine for r in dataset.rules
    )


def lean_sql(dataset: DatasetSpec, source: str, reading: Reading) -> str:
    """SELECT over `source` (rows as delivered) giving the typed contract and evolved columns,
    `_bad` (the row breaks a rule) and the delivered values as `_raw_<column>`, kept only on
    broken rows. Only for contracts where `row_checks_only`."""
    numbered = f"(SELECT 0 AS _source_row, * FROM {source})"
    checked = checked_sql(dataset, numbered, reading, reasons=False)
    typed = ", ".join(ident(c) for c in [*dataset.columns, *reading.extras])
    raw = ", ".join(
        f"CASE WHEN len(_rules) > 0 THEN {ident('_raw_' + c)} END AS {ident('_raw_' + c)}"
        for c in reading.source_columns
    )
    return f"SELECT {typed}, len(_rules) > 0 AS _bad, {raw} FROM ({checked})"


def as_delivered(source_columns: Mapping[str, str]) -> str:
    """The `_raw_<column>` values under their delivered names (what `checked_sql` reads)."""
    return ", ".join(f"{ident('_raw_' + c)} AS {ident(c)}" for c in source_columns)


RAW = "_raw_"
FIELD_LIMIT = 1_000_000  # bytes: a longer field breaks COLUMN:too_long
KEPT = 1_000  # characters of such a field quarantine keeps


def _cut(value: str, d: Dialect = DUCKDB) -> str:
    """A value for quarantine: whole, or cut to its first KEPT characters past FIELD_LIMIT."""
    size = d.byte_length(value)
    return (
        f"CASE WHEN {size} > {FIELD_LIMIT} THEN left({value}, {KEPT}) || "
        f"{d.literal('… [cut: ')} || {d.text(size)} || {d.literal(' bytes]')} ELSE {value} END"
    )


def quarantine_sql(
    source_columns: Mapping[str, str], checked: str, lineage: str, d: Dialect = DUCKDB
) -> str:
    """Broken rows as delivered (text), every rule they broke, a sentence, and lineage.
    `_raw_line` holds the line itself when the row could not even be split into fields."""
    cols = ", ".join(f"{_cut(d.text(d.ident(RAW + c)), d)} AS {d.ident(c)}" for c in source_columns)
    return (
        f"SELECT {cols}, _rules, _reason, {d.text('NULL')} AS _raw_line, {lineage}, "
        f"_source_row FROM {checked} WHERE {d.size('_rules')} > 0"
    )
