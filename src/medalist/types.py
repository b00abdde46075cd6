"""Column types of a data contract, and their names in each engine and destination."""

from __future__ import annotations

import re
from dataclasses import dataclass

SIMPLE_TYPES = {
    "boolean": "BOOLEAN",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "varchar": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
}
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
ALL_TYPE_NAMES = [*SIMPLE_TYPES, "decimal(p,s)"]
# What other systems call our types: `datetime` is no near spelling of `timestamp`, so a
# did-you-mean over the names alone would suggest `date` (losing the time of day).
TYPE_ALIASES = {
    "datetime": "timestamp",
    "timestamp without time zone": "timestamp",
    "datetime2": "timestamp",
    "timestamp with time zone": "timestamptz",
    "datetimeoffset": "timestamptz",
    "int": "integer",
    "int4": "integer",
    "int32": "integer",
    "smallint": "integer",
    "tinyint": "integer",
    "long": "bigint",
    "int8": "bigint",
    "int64": "bigint",
    "float": "double",
    "float8": "double",
    "real": "double",
    "double precision": "double",
    "number": "decimal(p,s)",
    "numeric": "decimal(p,s)",
    "money": "decimal(p,s)",
    "string": "varchar",
    "str": "varchar",
    "text": "varchar",
    "char": "varchar",
    "bool": "boolean",
}


def suggested_type(text: str) -> str | None:
    """Our name for a type another system spells `text` (`datetime` -> `timestamp`)."""
    norm = " ".join(text.strip().lower().split())
    if norm.startswith(("numeric(", "number(")):
        return "decimal" + norm[norm.index("(") :]
    return TYPE_ALIASES.get(norm)


@dataclass(frozen=True)
class ColumnType:
    """A contract type such as `bigint` or `decimal(12,2)`."""

    name: str
    precision: int | None = None
    scale: int | None = None

    @classmethod
    def parse(cls, text: str) -> ColumnType:
        """Parse a type as written in pipeline.yaml; ValueError names the accepted types."""
        norm = text.strip().lower()
        if norm in SIMPLE_TYPES:
            return cls(norm)
        match = _DECIMAL.match(norm)
        if match:
            precision, scale = int(match[1]), int(match[2])
            if not 1 <= precision <= 38 or scale > precision:
                raise ValueError(f"decimal({precision},{scale}) needs 1 <= p <= 38 and s <= p")
            return cls("decimal", precision, scale)
        raise ValueError(f"unknown type {text!r}")

    @property
    def sql(self) -> str:
        """The DuckDB spelling."""
        if self.name == "decimal":
            return f"DECIMAL({self.precision},{self.scale})"
        return SIMPLE_TYPES[self.name]

    @property
    def is_text(self) -> bool:
        return self.name == "varchar"

    @property
    def is_numeric(self) -> bool:
        return self.name in {"integer", "bigint", "double", "decimal"}

    def __str__(self) -> str:
        if self.name == "decimal":
            return f"decimal({self.precision},{self.scale})"
        return self.name
