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
