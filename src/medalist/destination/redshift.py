"""Amazon Redshift as the destination: `COPY … FROM 's3://…' IAM_ROLE … FORMAT AS PARQUET` of the
lake's own silver and gold objects into a staging table, then delete + insert on the key, all in
the run's one transaction (decision record 0022).

    redshift://user@cluster.region.redshift.amazonaws.com:5439/db?iam_role=arn:aws:iam::1:role/r

The password comes from the URL (after ${ENV} / ${aws-secret:…} expansion in pipeline.yaml) or
from $REDSHIFT_PASSWORD. Query options: `iam_role` (required: the role COPY reads S3 with),
`sslmode` (default require), and per table `distkey.<schema>.<table>=column|even|all|auto` and
`sortkey.<schema>.<table>=a,b` (empty: none). By default a keyed table is distributed on its first
key column and sorted on its key; a table without a key is left to DISTSTYLE AUTO.

Rows never pass through medalist: Redshift reads the Parquet objects itself (`LoadsObjects`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
import pyarrow as pa

from medalist.config import LoadMode
from medalist.contracts.rules import ident, literal
from medalist.destination import TableRef
from medalist.errors import ConfigError, DestinationUnavailable, TerminalError

CONNECT_TIMEOUT_S = 10
VARCHAR_MAX = 65535  # bytes: Redshift counts a VARCHAR's length in bytes, and TEXT is 256 of them
STAGE = "_medalist_stage"  # temporary tables COPY fills, one per object

# Runs COPY into a stage; the default executes the statement. (Tests against PostgreSQL, which
# has no COPY from S3, pass one that reads the object the statement names.)
Copier = Callable[["_Session", str, str, str], None]


def redshift_type(dtype: pa.DataType) -> str:
    """The Redshift column type for an Arrow type. TypeError for a type Redshift cannot hold."""
    if pa.types.is_boolean(dtype):
        return "BOOLEAN"
    if pa.types.is_int8(dtype) or pa.types.is_int16(dtype) or pa.types.is_uint8(dtype):
        return "SMALLINT"
    if pa.types.is_int32(dtype) or pa.types.is_uint16(dtype):
        return "INTEGER"
    if pa.types.is_int64(dtype) or pa.types.is_uint32(dtype):
        return "BIGINT"
    if pa.types.is_uint64(dtype):
        return "DECIMAL(20,0)"
    if pa.types.is_float32(dtype):
        return "REAL"
    if pa.types.is_float64(dtype):
        return "DOUBLE PRECISION"
    if pa.types.is_decimal(dtype):
        if dtype.precision > 38:
            raise TypeError(f"decimal({dtype.precision},{dtype.scale}) is wider than Redshift's 38")
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return f"VARCHAR({VARCHAR_MAX})"
    if pa.types.is_string_view(dtype):
        return f"VARCHAR({VARCHAR_MAX})"
    if pa.types.is_date(dtype):
        return "DATE"
    if pa.types.is_timestamp(dtype):  # microseconds in Redshift, as DuckDB writes them
        return "TIMESTAMPTZ" if dtype.tz else "TIMESTAMP"
    if pa.types.is_time(dtype):
        return "TIME"
    raise TypeError(
        f"type {dtype} has no Redshift column type here; cast it in the model's SQL "
        "(e.g. to VARCHAR)"
    )


class _Session:
    """One connection, autocommit off: statements join the open transaction."""

    def __init__(self, conninfo: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=False)

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql).fetchall()


def _run_copy(session: _Session, stage: str, url: str, statement: str) -> None:
    session.execute(statement)


@contextmanager
def _errors(what: str) -> Iterator[None]:
    try:
        yield
    except psycopg.OperationalError as exc:
        raise DestinationUnavailable(f"Redshift failed during {what}: {_said(exc)}") from None
    except psycopg.Error as exc:
        raise TerminalError(f"Redshift refused the {what}: {_said(exc)}") from None


def _said(exc: psycopg.Error) -> str:
    return " ".join(str(exc).split())


class RedshiftDestination:
    """redshift://user@cluster.region.redshift.amazonaws.com:5439/db?iam_role=arn:…"""

    dialect = "redshift"

    def __init__(self, url: str, *, connect: str | None = None, copier: Copier = _run_copy) -> None:
        parts = urlsplit(url)
        self.options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.iam_role = self.options.get("iam_role", "")
        if not self.iam_role.startswith("arn:"):
            raise ConfigError(
                f"destination {parts.hostname}: COPY from S3 needs an IAM role",
                fix="Add ?iam_role=arn:aws:iam::ACCOUNT:role/NAME to the redshift:// URL, a role "
                "the cluster may assume that can read the lake's bucket.",
            )
        self.copier = copier
        try:
            self.session = _Session(connect or _conninfo(parts, self.options))
        except psycopg.OperationalError as exc:
            raise DestinationUnavailable(f"Redshift unreachable: {_said(exc)}") from None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            with suppress(psycopg.Error):
                self.session.conn.rollback()
            raise
        try:
            self.session.conn.commit()
        except psycopg.Error as exc:
            raise DestinationUnavailable(
                f"Redshift failed to commit the load: {_said(exc)}"
            ) from None

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
        raise TerminalError(
            f"Redshift loads {table} from the lake's S3 objects, not from rows",
            fix="Load calls load_objects for this destination; a caller streaming rows to "
            "Redshift is a bug.",
        )

    def load_objects(
        self,
        table: TableRef,
        objects: Sequence[tuple[str, pa.Schema]],
        mode: LoadMode,
        primary_key: Sequence[str],
        run_id: str,
    ) -> int:
        with _errors(f"load of {table}"):
            return _ObjectLoad(self, table, objects, primary_key).run(mode, run_id)

    def copy_statement(self, stage: str, url: str) -> str:
        """The COPY of one Parquet object into a stage holding its columns in its order
        (Redshift maps a Parquet file's columns by position)."""
        return (
            f"COPY {stage} FROM {literal(url)} IAM_ROLE {literal(self.iam_role)} FORMAT AS PARQUET"
        )

    def physical(self, table: TableRef, primary_key: Sequence[str]) -> str:
        """DISTKEY / SORTKEY for CREATE TABLE: from the options, else from the key."""
        dist = self.options.get(f"distkey.{table}", primary_key[0] if primary_key else "auto")
        sort = self.options.get(f"sortkey.{table}", ",".join(primary_key))
        if dist.lower() in ("even", "all", "auto"):
            clause = f" DISTSTYLE {dist.upper()}"
        else:
            clause = f" DISTKEY ({ident(dist)})"
        columns = [c.strip() for c in sort.split(",") if c.strip()]
        if columns:
            clause += f" COMPOUND SORTKEY ({', '.join(ident(c) for c in columns)})"
        return clause

    # SupportsModels: gold models that run in Redshift (destination/elt.py)
    def execute(self, sql: str) -> None:
        with _errors("model SQL"):
            self.session.execute(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with _errors("model SQL"):
            return self.session.rows(sql)

    def column_types(self, table: TableRef) -> dict[str, str]:
        found = self.rows(
            "SELECT column_name, data_type, character_maximum_length, numeric_precision, "
            "numeric_scale FROM information_schema.columns WHERE table_schema = "
            f"{literal(table.schema)} AND table_name = {literal(table.name)} "
            "ORDER BY ordinal_position"
        )
        types = {}
        for name, kind, length, precision, scale in found:
            if kind == "numeric" and precision is not None:
                kind = f"numeric({precision},{scale})"
            elif kind == "character varying" and length is not None:
                kind = f"varchar({length})"
            types[name] = kind
        return types

    def create_as(self, table: TableRef, select: str) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(table.schema)}")
        self.execute(f"CREATE TABLE {ident(table.schema)}.{ident(table.name)} AS {select}")

    def add_key(self, table: TableRef, primary_key: Sequence[str]) -> None:
        if primary_key:  # informational in Redshift: not enforced, used by the planner
            key = ", ".join(ident(c) for c in primary_key)
            self.execute(
                f"ALTER TABLE {ident(table.schema)}.{ident(table.name)} ADD PRIMARY KEY ({key})"
            )

    def index_runs(self, table: TableRef) -> None:
        pass  # Redshift has no indexes; its zone maps skip blocks of other runs

    def close(self) -> None:
        with suppress(psycopg.Error):
            self.session.conn.close()


def _conninfo(parts: Any, options: Mapping[str, str]) -> str:
    password = unquote(parts.password) if parts.password else os.environ.get("REDSHIFT_PASSWORD")
    fields = {
        "host": parts.hostname or "",
        "port": str(parts.port or 5439),
        "dbname": parts.path.lstrip("/") or "dev",
        "user": unquote(parts.username or ""),
        "sslmode": options.get("sslmode", "require"),
        "connect_timeout": str(CONNECT_TIMEOUT_S),
    }
    if password:
        fields["password"] = password
    return " ".join(f"{k}={_quoted(v)}" for k, v in fields.items())


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _ObjectLoad:
    """One table's load from Parquet objects, inside the run's transaction."""

    def __init__(
        self,
        dest: RedshiftDestination,
        table: TableRef,
        objects: Sequence[tuple[str, pa.Schema]],
        primary_key: Sequence[str],
    ) -> None:
        self.dest, self.db, self.table, self.key = dest, dest.session, table, list(primary_key)
        self.objects = objects
        self.target = f"{ident(table.schema)}.{ident(table.name)}"
        self.schema = _union(s for _, s in objects)
        self.cols = ", ".join(ident(f.name) for f in self.schema)

    def run(self, mode: LoadMode, run_id: str) -> int:
        db, target = self.db, self.target
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(self.table.schema)}")
        stage, rows = self._stage()
        exists = bool(self.dest.column_types(self.table))
        if mode == LoadMode.replace or not exists:
            fresh = TableRef(self.table.schema, self.table.name + "__medalist_new")
            db.execute(f"DROP TABLE IF EXISTS {ident(fresh.schema)}.{ident(fresh.name)}")
            self._create(fresh)
            db.execute(
                f"INSERT INTO {ident(fresh.schema)}.{ident(fresh.name)} ({self.cols}) "
                f"SELECT {self.cols} FROM {stage}"
            )
            db.execute(f"DROP TABLE IF EXISTS {target}")
            db.execute(
                f"ALTER TABLE {ident(fresh.schema)}.{ident(fresh.name)} "
                f"RENAME TO {ident(self.table.name)}"
            )
        else:
            self._evolve()
            lineage = "_run_id" in self.schema.names
            if mode == LoadMode.append or not self.key:
                if lineage:  # a retry replaces this run's earlier rows
                    db.execute(f"DELETE FROM {target} WHERE _run_id = {literal(run_id)}")
            else:
                match = " AND ".join(f"{target}.{ident(k)} = {stage}.{ident(k)}" for k in self.key)
                if lineage:  # a late load never undoes a later run's rows
                    db.execute(
                        f"DELETE FROM {stage} USING {target} WHERE {match} "
                        f"AND {target}._run_id > {stage}._run_id"
                    )
                db.execute(f"DELETE FROM {target} USING {stage} WHERE {match}")
            db.execute(f"INSERT INTO {target} ({self.cols}) SELECT {self.cols} FROM {stage}")
        db.execute(f"DROP TABLE {stage}")
        return rows

    def _stage(self) -> tuple[str, int]:
        """COPY every object into one temporary stage (latest row per key when several
        objects hold it); the stage's name and the rows delivered."""
        db, parts = self.db, []
        for i, (url, schema) in enumerate(self.objects):
            part = ident(f"{STAGE}_{i}")
            db.execute(f"DROP TABLE IF EXISTS {part}")
            db.execute(f"CREATE TEMP TABLE {part} ({_defs(schema, ())})")
            self.dest.copier(db, part, url, self.dest.copy_statement(part, url))
            parts.append((part, schema))
        stage = ident(STAGE)
        db.execute(f"DROP TABLE IF EXISTS {stage}")
        db.execute(f"CREATE TEMP TABLE {stage} ({_defs(self.schema, ())})")
        for part, schema in parts:
            names = ", ".join(ident(f.name) for f in schema)
            db.execute(f"INSERT INTO {stage} ({names}) SELECT {names} FROM {part}")
            db.execute(f"DROP TABLE {part}")
        rows = int(db.rows(f"SELECT count(*) FROM {stage}")[0][0])
        if len(parts) > 1 and self.key and "_run_id" in self.schema.names:
            key = ", ".join(ident(k) for k in self.key)
            order = "_run_id DESC" + (
                ", _source_row DESC" if "_source_row" in self.schema.names else ""
            )
            latest = ident(STAGE + "_latest")
            db.execute(
                f"CREATE TEMP TABLE {latest} AS SELECT {self.cols} FROM (SELECT *, "
                f"row_number() OVER (PARTITION BY {key} ORDER BY {order}) AS _medalist_rank "
                f"FROM {stage}) AS ranked WHERE _medalist_rank = 1"
            )
            db.execute(f"DROP TABLE {stage}")
            stage = latest
        return stage, rows

    def _create(self, table: TableRef) -> None:
        defs = _defs(self.schema, self.key)
        if self.key:
            defs += f", PRIMARY KEY ({', '.join(ident(k) for k in self.key)})"
        self.db.execute(
            f"CREATE TABLE {ident(table.schema)}.{ident(table.name)} ({defs})"
            + self.dest.physical(self.table, self.key)
        )

    def _evolve(self) -> None:
        """Columns the objects bring are added; a changed type is refused (Redshift cannot alter
        a column's type inside a transaction)."""
        existing = self.dest.column_types(self.table)
        for field in self.schema:
            if field.name not in existing:
                self.db.execute(
                    f"ALTER TABLE {self.target} ADD COLUMN {ident(field.name)} {_type(field)}"
                )


def _union(schemas: Any) -> pa.Schema:
    """Every column of the objects, in first-seen order (the later objects' new columns last)."""
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for field in schema:
            fields.setdefault(field.name, field)
    return pa.schema(list(fields.values()))


def _type(field: pa.Field) -> str:
    try:
        return redshift_type(field.type)
    except TypeError as exc:
        raise TerminalError(f"column {field.name}: {exc}", column=field.name) from None


def _defs(schema: pa.Schema, key: Sequence[str]) -> str:
    return ", ".join(
        f"{ident(f.name)} {_type(f)}" + (" NOT NULL" if f.name in key else "") for f in schema
    )
