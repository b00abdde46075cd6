"""The Destination port (Aurora PostgreSQL / Redshift in the AWS design).

A run's loads happen inside one `transaction()`: the destination holds all of a run's tables or
none of them, and loading the same data twice leaves it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import pyarrow as pa

from medalist.config import LoadMode
from medalist.contracts.rules import ident
from medalist.errors import ConfigError, TerminalError
from medalist.plugins import adapters, load_adapter

GROUP = "medalist.destinations"
_ALIASES = {"postgres": "postgresql"}


@dataclass(frozen=True)
class TableRef:
    schema: str  # silver or gold
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


class Destination(Protocol):
    def transaction(self) -> AbstractContextManager[None]:
        """Commit every load made inside it together on exit, or none if it raises."""

    def load(
        self,
        table: TableRef,
        data: pa.RecordBatchReader,
        mode: LoadMode,
        primary_key: Sequence[str],
        run_id: str,
        constants: Mapping[str, object] | None = None,
        reread: Callable[[], pa.RecordBatchReader] | None = None,
    ) -> int:
        """Load batches into a table (inside `transaction()`); return the rows delivered.
        `constants`: columns with one value on every row, which an adapter may send once.
        `reread`, given with merge when the rows' keys are most likely new to the table, reads
        the rows again: an adapter may insert them plainly and, when a key is there after all,
        undo that and merge what `reread` returns.

        merge upserts on the key; append replaces this run's earlier rows (so a retry never
        duplicates); replace swaps the whole table."""

    def close(self) -> None:
        """Release connections."""


@runtime_checkable
class SupportsStaging(Protocol):
    """Optional: a run's rows copied into the destination ahead of its Load, while Transform
    still writes them, then published by Load in its transaction (decision 0012)."""

    def stage(
        self,
        table: TableRef,
        rows: pa.RecordBatchReader,
        primary_key: Sequence[str],
        run_id: str,
        constants: Mapping[str, object] | None = None,
    ) -> int:
        """Copy rows into a place only this run's Load reads, committed on return; return
        the rows staged. Readers of `table` see nothing of it."""

    def load_staged(
        self,
        table: TableRef,
        data: pa.RecordBatchReader,
        mode: LoadMode,
        primary_key: Sequence[str],
        run_id: str,
        constants: Mapping[str, object] | None,
        staged_rows: int,
    ) -> int:
        """load(), from this run's stage when it holds exactly `staged_rows` rows of
        `table`; from `data` otherwise."""

    def discard_stage(self, table: TableRef, run_id: str) -> None:
        """Drop what stage() kept for this run and table, if anything (best effort)."""


class StandardModels:
    """create_as and add_key of SupportsModels in standard SQL, over the adapter's `execute`:
    what DuckDB and PostgreSQL share (Redshift adds its distribution and sort keys)."""

    def execute(self, sql: str) -> None:
        raise NotImplementedError

    def create_as(self, table: TableRef, select: str) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(table.schema)}")
        self.execute(f"CREATE TABLE {ident(table.schema)}.{ident(table.name)} AS {select}")

    def add_key(self, table: TableRef, primary_key: Sequence[str]) -> None:
        if primary_key:
            key = ", ".join(ident(c) for c in primary_key)
            self.execute(
                f"ALTER TABLE {ident(table.schema)}.{ident(table.name)} ADD PRIMARY KEY ({key})"
            )


@runtime_checkable
class SupportsModels(Protocol):
    """Optional: gold models run inside the destination, in its SQL dialect, within the Load's
    transaction (ELT, decision 0021; the logic is medalist/destination/elt.py)."""

    dialect: str  # sqlglot's name for the destination's SQL: postgres, duckdb, redshift

    def execute(self, sql: str) -> None:
        """Run one statement inside the open transaction."""

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of one query, inside the open transaction."""

    def column_types(self, table: TableRef) -> dict[str, str]:
        """Column -> type in the destination's own spelling, in table order; {} when the
        table does not exist."""

    def create_as(self, table: TableRef, select: str) -> None:
        """CREATE TABLE `table` AS `select`, with the destination's physical options."""

    def add_key(self, table: TableRef, primary_key: Sequence[str]) -> None:
        """Declare the primary key of a table create_as built (nothing when there is none)."""

    def index_runs(self, table: TableRef) -> None:
        """Make finding one run's rows of a silver table (`WHERE _run_id = …`) cheap, where the
        destination needs an index for that; nothing where it does not."""


@runtime_checkable
class LoadsObjects(Protocol):
    """Optional: the destination reads the lake's Parquet objects itself (Redshift's COPY from
    S3) instead of rows streamed through medalist."""

    def load_objects(
        self,
        table: TableRef,
        objects: Sequence[tuple[str, pa.Schema]],
        mode: LoadMode,
        primary_key: Sequence[str],
        run_id: str,
    ) -> int:
        """load(), from the Parquet objects at these URLs (each with its columns, in file
        order); when several hold a key, the latest (_run_id, _source_row) wins. Returns the
        rows delivered."""


def open_destination(url: str) -> Destination:
    """The adapter registered for the URL's scheme (duckdb, postgresql, dummy, …)."""
    scheme = urlsplit(url).scheme.lower()
    scheme = _ALIASES.get(scheme, scheme)
    try:
        cls = load_adapter(GROUP, scheme)
    except KeyError:
        known = ", ".join(sorted(adapters(GROUP)))
        raise ConfigError(
            f"destination {url!r} has no adapter for {scheme!r}",
            fix=f"Use one of: {known} (e.g. postgresql://user@host/db).",
        ) from None
    return cls(url)  # type: ignore[no-any-return]


def sql_type(dtype: pa.DataType, dialect: str) -> str:
    """The column type for an Arrow type, in 'duckdb' or 'postgres' spelling."""
    pg = dialect == "postgres"
    if pa.types.is_boolean(dtype):
        return "BOOLEAN"
    if pa.types.is_int8(dtype) or pa.types.is_int16(dtype):
        return "SMALLINT"
    if pa.types.is_int32(dtype) or pa.types.is_uint8(dtype) or pa.types.is_uint16(dtype):
        return "INTEGER"
    if pa.types.is_int64(dtype) or pa.types.is_uint32(dtype):
        return "BIGINT"
    if pa.types.is_uint64(dtype):
        return "NUMERIC(20,0)" if pg else "UBIGINT"
    if pa.types.is_float32(dtype):
        return "REAL"
    if pa.types.is_float64(dtype):
        return "DOUBLE PRECISION" if pg else "DOUBLE"
    if pa.types.is_decimal(dtype):
        return (
            f"NUMERIC({dtype.precision},{dtype.scale})"
            if pg
            else (f"DECIMAL({dtype.precision},{dtype.scale})")
        )
    if (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    ):
        return "TEXT" if pg else "VARCHAR"
    if pa.types.is_date(dtype):
        return "DATE"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMPTZ" if dtype.tz else "TIMESTAMP"
    if pa.types.is_time(dtype):
        return "TIME"
    if pa.types.is_interval(dtype) or pa.types.is_duration(dtype):
        return "INTERVAL"
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
        return "BYTEA" if pg else "BLOB"
    raise TypeError(
        f"type {dtype} cannot be loaded yet; cast it in the model's SQL "
        "(e.g. to VARCHAR or JSON text)"
    )


def column_defs(
    schema: pa.Schema, dialect: str, primary_key: Sequence[str], *, with_key: bool = True
) -> str:
    """CREATE TABLE body for an Arrow schema; key columns are NOT NULL (and the PRIMARY KEY
    clause is left out with `with_key=False`, to be added after a bulk load)."""
    from medalist.contracts.rules import ident

    cols = []
    for field in schema:
        try:
            kind = sql_type(field.type, dialect)
        except TypeError as exc:
            raise ConfigError(f"column {field.name}: {exc}") from None
        cols.append(
            f"{ident(field.name)} {kind}" + (" NOT NULL" if field.name in primary_key else "")
        )
    if primary_key and with_key:
        cols.append(f"PRIMARY KEY ({', '.join(ident(c) for c in primary_key)})")
    return ", ".join(cols)


# How each destination names types in its catalog, in DuckDB's spelling (which `widens` reads).
_CANONICAL = {
    "SMALLINT": "SMALLINT",
    "INTEGER": "INTEGER",
    "BIGINT": "BIGINT",
    "REAL": "FLOAT",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "DOUBLE PRECISION": "DOUBLE",
    "TEXT": "VARCHAR",
    "CHARACTER VARYING": "VARCHAR",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
}


def canonical(type_name: str) -> str:
    """A column type as DuckDB spells it: NUMERIC(12,2) -> DECIMAL(12,2), TEXT -> VARCHAR."""
    name = type_name.strip().upper().replace(", ", ",")
    if name.startswith("NUMERIC"):
        name = "DECIMAL" + name[len("NUMERIC") :]
    return _CANONICAL.get(name, name)


def evolution(
    table: TableRef, existing: dict[str, str], incoming: pa.Schema, dialect: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """What an existing table needs before it can take `incoming` rows: (columns to add,
    columns to widen), each as (name, type in the dialect). TerminalError for a type change
    that would lose values."""
    from medalist.contracts.drift import widens

    add, widen = [], []
    for field in incoming:
        spelled = sql_type(field.type, dialect)
        new = canonical(sql_type(field.type, "duckdb"))
        old = existing.get(field.name)
        if old is None:
            add.append((field.name, spelled))
        elif old != new and not widens(new, old):
            if not widens(old, new):
                raise TerminalError(
                    f"column {field.name} of {table} is {old}; the new rows bring {new}, "
                    "which would not fit",
                    column=field.name,
                    fix="Cast the column in the contract or model to the destination's type, "
                    "or change the destination column by hand.",
                )
            widen.append((field.name, spelled))
    return add, widen


# Columns by which rows carry their own version: with one in a merged table, an incoming row
# replaces a stored one only when it is at least as new by it, then by _run_id (Airbyte's
# extraction time: an older sync loaded later does not win; docs/integration.md).
VERSION_COLUMNS = ("_airbyte_extracted_at",)


def newer_or_same(names: Sequence[str], new: str, old: str) -> str | None:
    """SQL: the row `new` may replace the row `old` (both table aliases) in a merge, by the
    version columns the rows have and then _run_id (a late load never undoes a later run);
    None when they have neither."""
    order = [c for c in VERSION_COLUMNS if c in names] + [c for c in ("_run_id",) if c in names]
    if not order:
        return None
    *before, last = order
    test = f"{new}.{quote(last)} >= {old}.{quote(last)}"
    for column in reversed(before):
        a, b = f"{new}.{quote(column)}", f"{old}.{quote(column)}"
        test = f"({a} > {b} OR ({a} = {b} AND {test}))"
    return test


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
