"""How each engine spells what a contract compiles to (decision 0025).

A contract is compiled by `contracts.rules` into checks (a label, a condition, a sentence);
the few constructs whose spelling differs between engines come from a Dialect: quoting, types,
casts, regular expressions, date formats, lists. User SQL (rule checks, gold models) is
written in DuckDB's dialect and translated with sqlglot (`user_sql`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache


class Dialect:
    """DuckDB's spelling: the language user SQL is written in."""

    name = "duckdb"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def literal(self, value: object) -> str:
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | float):
            return repr(value)
        return "'" + str(value).replace("'", "''") + "'"

    def type(self, sql_type: str) -> str:
        """A type as `ColumnType.sql` spells it (DuckDB's names), in this dialect."""
        return sql_type

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS VARCHAR)"

    def try_cast(self, expr: str, sql_type: str) -> str:
        return f"TRY_CAST({expr} AS {self.type(sql_type)})"

    def null_text(self) -> str:
        """A missing delivered value (a column the file lacks)."""
        return "NULL"

    def strptime(self, text: str, formats: Sequence[str]) -> str:
        """A timestamp parsed from text with the first strftime format that fits, else NULL."""
        listed = "[" + ", ".join(self.literal(f) for f in formats) + "]"
        return f"try_strptime({text}, {listed})"

    def isfinite(self, expr: str) -> str:
        return f"isfinite({expr})"

    def full_match(self, text: str, pattern: str) -> str:
        return f"regexp_full_match({text}, {self.literal(pattern)})"

    def labels(self, items: Sequence[str], broken: Sequence[str] = ()) -> str:
        """The non-NULL values of text expressions, as a list. `broken` are the conditions
        under which an item is not NULL (item i is NULL unless condition i holds)."""
        return f"list_filter(CAST([{', '.join(items)}] AS VARCHAR[]), lambda r: r IS NOT NULL)"

    def size(self, lst: str) -> str:
        return f"len({lst})"

    def byte_length(self, text: str) -> str:
        """The length of a text in bytes (UTF-8)."""
        return f"strlen({text})"

    def joined(self, lst: str, sep: str) -> str:
        return f"array_to_string({lst}, {self.literal(sep)})"

    def concat_lists(self, *lists: str) -> str:
        return " || ".join(lists)

    def latest(self, columns: str, source: str, key: str, order: str) -> str:
        """SELECT `columns` FROM `source`, one row per `key`: the first in `order`."""
        return (
            f"SELECT {columns} FROM {source} QUALIFY row_number() OVER (PARTITION BY {key} "
            f"ORDER BY {order}) = 1"
        )

    def user_sql(self, sql: str) -> str:
        """User SQL (written in DuckDB's dialect) in this dialect."""
        return sql

    def zone(self, schema: str, name: str) -> str:
        """A zone table (`silver.orders`) as the engine names it."""
        return f"{self.ident(schema)}.{self.ident(name)}"

    def taken(self, silver: str, col: str, key: Sequence[str]) -> str:
        """TRUE when `silver` (alias s) holds the value of `col` of row t for another primary
        `key` (any row when there is no key)."""
        other = (
            f" AND ({', '.join('s.' + k for k in key)}) IS DISTINCT FROM "
            f"({', '.join('t.' + k for k in key)})"
            if key
            else ""
        )
        return f"EXISTS (SELECT 1 FROM {silver} s WHERE s.{col} = t.{col}{other})"

    def found(self, table: str, column: str, col: str) -> str:
        """TRUE when `table` holds the value of `col` of row t in its `column`."""
        return f"EXISTS (SELECT 1 FROM {table} r WHERE r.{column} = t.{col})"


DUCKDB = Dialect()

# strftime (DuckDB) -> Java DateTimeFormatter (Spark) letters.
_JAVA = {
    "Y": "yyyy",
    "y": "yy",
    "m": "M",
    "d": "d",
    "H": "H",
    "I": "h",
    "M": "m",
    "S": "s",
    "f": "SSSSSS",
    "p": "a",
    "b": "MMM",
    "B": "MMMM",
    "a": "EEE",
    "A": "EEEE",
    "j": "D",
    "z": "Z",
    "Z": "z",
    "%": "%",
}
_SPARK_TYPES = {
    "VARCHAR": "STRING",
    "TIMESTAMPTZ": "TIMESTAMP",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "INTEGER": "INT",
    "VARCHAR[]": "ARRAY<STRING>",
}
_STRFTIME = re.compile(r"%(-?)(.)")


class SparkDialect(Dialect):
    """Spark SQL 3.5 (what Glue 5 runs), with ANSI mode off (a cast that fails gives NULL)."""

    name = "spark"

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def literal(self, value: object) -> str:
        if isinstance(value, bool | int | float):
            return super().literal(value)
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    def type(self, sql_type: str) -> str:
        return _SPARK_TYPES.get(sql_type.upper(), sql_type)

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS STRING)"

    def null_text(self) -> str:
        return "CAST(NULL AS STRING)"  # a bare NULL is of type VOID, which Parquet cannot hold

    def try_cast(self, expr: str, sql_type: str) -> str:
        # ANSI off: CAST gives NULL for what does not fit, as TRY_CAST does in DuckDB. Text
        # to an integer rounds as DuckDB does ('1.5' is 2, '1e3' is 1000), where Spark's own
        # cast would cut ('1.5' is 1) or refuse ('1e3').
        # The rounding goes through DECIMAL(38, 9) (Java BigDecimal, slow): only for text that
        # is not a plain integer, which try_cast (ANSI rules: NULL, not a cut) reads first.
        target = self.type(sql_type)
        if target in ("INT", "BIGINT"):
            return (
                f"coalesce(try_cast(CAST({expr} AS STRING) AS {target}), "
                f"CAST(round(CAST({expr} AS DECIMAL(38, 9)), 0) AS {target}))"
            )
        return f"CAST({expr} AS {target})"

    def strptime(self, text: str, formats: Sequence[str]) -> str:
        parsed = [f"to_timestamp_ntz({text}, {self.literal(java_format(f))})" for f in formats]
        return parsed[0] if len(parsed) == 1 else f"coalesce({', '.join(parsed)})"

    def isfinite(self, expr: str) -> str:
        return f"(NOT isnan({expr}) AND abs({expr}) != double('Infinity'))"

    def full_match(self, text: str, pattern: str) -> str:
        return f"({text} RLIKE {self.literal('^(?:' + pattern + ')$')})"

    def labels(self, items: Sequence[str], broken: Sequence[str] = ()) -> str:
        # `filter` with a lambda runs interpreted, its arguments too (CodegenFallback), so a
        # list of every condition in every row cost more than typing the row; most rows break
        # nothing: one compiled OR of the conditions first, the list only when one holds.
        empty = "CAST(array() AS ARRAY<STRING>)"
        if not items:
            return empty
        listed = ", ".join(f"CAST({i} AS STRING)" for i in items)
        found = f"filter(CAST(array({listed}) AS ARRAY<STRING>), r -> r IS NOT NULL)"
        if not broken:
            return found
        held = " OR ".join(f"({b})" for b in broken)
        return f"CASE WHEN {held} THEN {found} ELSE {empty} END"

    def size(self, lst: str) -> str:
        return f"size({lst})"

    def byte_length(self, text: str) -> str:
        return f"octet_length({text})"

    def joined(self, lst: str, sep: str) -> str:
        return f"array_join({lst}, {self.literal(sep)})"

    def concat_lists(self, *lists: str) -> str:
        return f"concat({', '.join(lists)})"

    def latest(self, columns: str, source: str, key: str, order: str) -> str:
        return (
            f"SELECT {columns} FROM (SELECT *, row_number() OVER (PARTITION BY {key} "
            f"ORDER BY {order}) AS _medalist_rn FROM {source}) WHERE _medalist_rn = 1"
        )

    def user_sql(self, sql: str) -> str:
        return to_spark(sql)

    def zone(self, schema: str, name: str) -> str:
        return self.ident(f"{schema}__{name}")  # the engine's temp view (portable.view_name)

    # Spark 3.5 runs EXISTS only in a filter; a correlated scalar subquery with equality
    # predicates runs anywhere (it becomes an outer join on an aggregate of `silver`).
    def taken(self, silver: str, col: str, key: Sequence[str]) -> str:
        holders = f"(SELECT count(*) FROM {silver} s WHERE s.{col} = t.{col})"
        if not key:
            return f"({holders} > 0)"
        same = " AND ".join(f"s.{k} <=> t.{k}" for k in key)
        mine = f"(SELECT count(*) FROM {silver} s WHERE s.{col} = t.{col} AND {same})"
        return f"({holders} > {mine})"

    def found(self, table: str, column: str, col: str) -> str:
        return f"((SELECT count(*) FROM {table} r WHERE r.{column} = t.{col}) > 0)"


SPARK = SparkDialect()


def java_format(strftime: str) -> str:
    """A strftime format (`%d/%m/%Y`) as a Java DateTimeFormatter pattern (`d/M/yyyy`)."""
    out: list[str] = []
    last = 0
    for match in _STRFTIME.finditer(strftime):
        out.append(_quoted_text(strftime[last : match.start()]))
        out.append(_JAVA.get(match[2], match[0]))
        last = match.end()
    out.append(_quoted_text(strftime[last:]))
    return "".join(out)


def _quoted_text(text: str) -> str:
    if not text:
        return ""
    if not any(c.isalpha() or c == "'" for c in text):
        return text
    return "'" + text.replace("'", "''") + "'"


@lru_cache(maxsize=512)
def to_spark(sql: str) -> str:
    """DuckDB SQL in Spark's dialect (sqlglot); `medalist.engine.portable` says beforehand
    what cannot be translated."""
    from medalist.engine.portable import spark_sql

    return spark_sql(sql)
