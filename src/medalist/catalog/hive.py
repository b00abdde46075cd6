"""Our column types (DuckDB's spelling) as Hive types, the ones Glue tables and Athena use.

Written once, used for every Glue column. Examples: `DECIMAL(12,2)` -> `decimal(12,2)`,
`VARCHAR` -> `string`, `TIMESTAMP WITH TIME ZONE` -> `timestamp` (Hive timestamps carry no
zone: Parquet stores UTC instants, which is what Athena reads), `VARCHAR[]` ->
`array<string>` (the quarantine's `_rules`).
"""

from __future__ import annotations

import re

_SIMPLE = {
    "BOOLEAN": "boolean",
    "BOOL": "boolean",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "int",
    "INT": "int",
    "BIGINT": "bigint",
    # Unsigned and 128-bit integers have no Hive type of their width: a decimal holds them.
    "UTINYINT": "smallint",
    "USMALLINT": "int",
    "UINTEGER": "bigint",
    "UBIGINT": "decimal(20,0)",
    "HUGEINT": "decimal(38,0)",
    "FLOAT": "float",
    "REAL": "float",
    "DOUBLE": "double",
    "VARCHAR": "string",
    "TEXT": "string",
    "STRING": "string",
    "UUID": "string",
    "JSON": "string",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMPTZ": "timestamp",
    "BLOB": "binary",
}
_DECIMAL = re.compile(r"^DECIMAL\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_VARCHAR_N = re.compile(r"^VARCHAR\s*\(\s*\d+\s*\)$")


class UnmappedType(ValueError):
    """A type with no Hive counterpart; the message names it."""


def hive_type(duckdb_type: str) -> str:
    """The Hive type Athena reads a column of this DuckDB type as."""
    text = " ".join(duckdb_type.strip().upper().split())
    if text in _SIMPLE:
        return _SIMPLE[text]
    if match := _DECIMAL.match(text):
        return f"decimal({match[1]},{match[2]})"
    if _VARCHAR_N.match(text):
        return "string"
    if text.endswith("[]"):
        return f"array<{hive_type(duckdb_type.strip()[:-2])}>"
    if text.startswith("STRUCT(") and text.endswith(")"):
        fields = _split(duckdb_type.strip()[7:-1])
        return "struct<" + ",".join(_struct_field(f) for f in fields) + ">"
    if text.startswith("MAP(") and text.endswith(")"):
        key, value = _split(duckdb_type.strip()[4:-1])
        return f"map<{hive_type(key)},{hive_type(value)}>"
    raise UnmappedType(f"type {duckdb_type!r} has no Hive (Athena) counterpart")


def _struct_field(text: str) -> str:
    """`"amount" DECIMAL(9,2)` -> `amount:decimal(9,2)`."""
    text = text.strip()
    if text.startswith('"'):
        end = text.index('"', 1)
        name, rest = text[1:end], text[end + 1 :]
    else:
        name, _, rest = text.partition(" ")
    return f"{name.lower()}:{hive_type(rest)}"


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses: `a INTEGER, b DECIMAL(9,2)` -> two parts."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]
