"""PostgreSQL as the destination: COPY into a staging table, then merge, in one transaction."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from medalist.config import LoadMode
from medalist.contracts.rules import ident
from medalist.destination import TableRef, canonical, column_defs, evolution
from medalist.errors import DestinationUnavailable, TerminalError

_CSV = pacsv.WriteOptions(include_header=False)  # strings quoted, NULL as an empty field


class PostgresDestination:
    """postgresql://user[:password]@host:port/database"""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.conn = psycopg.connect(url, connect_timeout=10)
        except psycopg.OperationalError as exc:
            text = str(exc).strip().splitlines()[-1]
            if "does not exist" in text:
                raise TerminalError(
                    f"PostgreSQL says: {text}",
                    fix="Create the database (e.g. `createdb NAME`) or fix "
                    "`destination:` in pipeline.yaml.",
                ) from None
            raise DestinationUnavailable(f"PostgreSQL unreachable: {text}") from None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with self.conn.transaction():
                yield
        except psycopg.OperationalError as exc:
            raise DestinationUnavailable(f"PostgreSQL failed to commit the load: {exc}") from None

    def load(
        self,
        table: TableRef,
        data: pa.RecordBatchReader,
        mode: LoadMode,
        primary_key: Sequence[str],
        run_id: str,
    ) -> int:
        try:
            with self.conn.cursor() as cur:
                return self._load(cur, table, data, mode, primary_key, run_id)
        except psycopg.OperationalError as exc:
            raise DestinationUnavailable(
                f"PostgreSQL failed during load of {table}: {exc}"
            ) from None
        except psycopg.Error as exc:
            raise TerminalError(
                f"loading {table} into PostgreSQL failed: {str(exc).strip()}"
            ) from None

    def _load(
        self,
        cur: psycopg.Cursor,
        table: TableRef,
        data: pa.RecordBatchReader,
        mode: LoadMode,
        primary_key: Sequence[str],
        run_id: str,
    ) -> int:
        schema, target = ident(table.schema), f"{ident(table.schema)}.{ident(table.name)}"
        cols = ", ".join(ident(f.name) for f in data.schema)
        defs = column_defs(data.schema, "postgres", primary_key)
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        if mode == LoadMode.replace:
            fresh = f"{schema}.{ident(table.name + '__medalist_new')}"
            cur.execute(f"DROP TABLE IF EXISTS {fresh}")
            cur.execute(f"CREATE TABLE {fresh} ({defs})")
            rows = _copy(cur, fresh, cols, data)
            cur.execute(f"DROP TABLE IF EXISTS {target}")
            cur.execute(f"ALTER TABLE {fresh} RENAME TO {ident(table.name)}")
            return rows
        cur.execute(f"CREATE TABLE IF NOT EXISTS {target} ({defs})")
        _evolve(cur, table, target, data.schema)
        if mode == LoadMode.append or not primary_key:
            if "_run_id" in data.schema.names:
                cur.execute(f"DELETE FROM {target} WHERE _run_id = %s", (run_id,))
            return _copy(cur, target, cols, data)
        cur.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {target})")
        if cur.fetchone() == (True,):  # nothing to merge with: incoming rows are unique per key
            return _copy(cur, target, cols, data)
        cur.execute(f"CREATE TEMP TABLE _medalist_stage (LIKE {target}) ON COMMIT DROP")
        rows = _copy(cur, "_medalist_stage", cols, data)
        key = ", ".join(ident(c) for c in primary_key)
        others = [ident(f.name) for f in data.schema if f.name not in primary_key]
        if others:
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
            old = ", ".join(f"{target}.{c}" for c in others)
            new = ", ".join(f"EXCLUDED.{c}" for c in others)
            # Unchanged rows are not rewritten: loading the same data twice changes nothing.
            action = f"DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})"
            if "_run_id" in data.schema.names:  # a late load never undoes a later run's rows
                action += f" AND EXCLUDED._run_id >= {target}._run_id"
        else:
            action = "DO NOTHING"
        cur.execute(
            f"INSERT INTO {target} ({cols}) SELECT {cols} FROM _medalist_stage "
            f"ON CONFLICT ({key}) {action}"
        )
        cur.execute("DROP TABLE _medalist_stage")  # the next table of this load stages too
        return rows

    def close(self) -> None:
        self.conn.close()


def _copy(cur: psycopg.Cursor, target: str, cols: str, data: pa.RecordBatchReader) -> int:
    """Stream Arrow batches into COPY as CSV text: no per-row Python."""
    rows = 0
    with cur.copy(f"COPY {target} ({cols}) FROM STDIN (FORMAT csv)") as copy:
        for batch in data:
            buf = io.BytesIO()
            pacsv.write_csv(batch, buf, _CSV)
            copy.write(buf.getbuffer())
            rows += batch.num_rows
    return rows


def _evolve(cur: psycopg.Cursor, table: TableRef, target: str, incoming: pa.Schema) -> None:
    """Add the columns the rows bring, widen the ones they need wider (schema evolution)."""
    cur.execute(
        "SELECT column_name, data_type, numeric_precision, numeric_scale "
        "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (table.schema, table.name),
    )
    existing = {
        name: canonical(f"NUMERIC({p},{s})" if kind == "numeric" else kind)
        for name, kind, p, s in cur.fetchall()
    }
    add, widen = evolution(table, existing, incoming, "postgres")
    for name, kind in add:
        cur.execute(f"ALTER TABLE {target} ADD COLUMN {ident(name)} {kind}")
    for name, kind in widen:
        cur.execute(f"ALTER TABLE {target} ALTER COLUMN {ident(name)} TYPE {kind}")
