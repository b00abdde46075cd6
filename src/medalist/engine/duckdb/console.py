"""The console's sandbox on DuckDB: a fresh in-memory DuckDB per query holding one role's zones,
then locked down (decisions 0014 and 0037):

- external access off except the role's zone folders (`allowed_directories`: local folders or
  s3:// prefixes alike, for the filesystem registered on the connection);
- its configuration locked (no ATTACH, COPY TO, INSTALL/LOAD, SET);
- bounded: a memory limit, a time limit (the query is interrupted), a page of rows.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from medalist.config import Format
from medalist.contracts.rules import ident, literal
from medalist.engine.console import BadQuery, LandedTable, QueryResult, SandboxPlan, first_line
from medalist.engine.duckdb.engine import DuckDBEngine
from medalist.incremental import INCOMING

MEMORY_LIMIT = "512MB"
_UNPAGED = re.compile(r"^(explain|describe)\b", re.IGNORECASE)


class DuckDBSandbox:
    """ConsoleSandbox on a locked DuckDB. `con` is there for the adapter's own tests, which
    check the engine's walls without the SQL checks in front."""

    def __init__(self, engine: DuckDBEngine) -> None:
        self.con = engine.con

    def page(self, sql: str, page: int, page_rows: int, limit_s: float) -> QueryResult:
        timer = threading.Timer(limit_s, self.con.interrupt)
        started = time.monotonic()
        timer.start()
        try:
            if not _UNPAGED.match(sql):
                sql = f"SELECT * FROM ({sql}) AS q LIMIT {page_rows + 1} OFFSET {page * page_rows}"
            cursor = self.con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(page_rows + 1)
        except duckdb.InterruptException:
            raise BadQuery(
                f"stopped after the {limit_s:g} s time limit",
                fix="Filter or aggregate more, or add a LIMIT.",
            ) from None
        except duckdb.Error as exc:
            raise BadQuery(f"the engine refused it: {first_line(exc)}") from None
        finally:
            timer.cancel()
        return QueryResult(
            columns, rows[:page_rows], len(rows) > page_rows, time.monotonic() - started
        )

    def count(self, sql: str, limit_s: float) -> int | None:
        timer = threading.Timer(limit_s, self.con.interrupt)
        timer.start()
        try:
            row = self.con.execute(f"SELECT count(*) FROM ({sql}) AS q").fetchone()
        except duckdb.Error:
            return None
        finally:
            timer.cancel()
        return int(row[0]) if row else None

    def tables(self) -> list[tuple[str, str, str, str]]:
        rows = self.con.execute(
            "SELECT table_schema, table_name, column_name, data_type "
            "FROM information_schema.columns "
            "WHERE table_schema NOT IN ('main', 'information_schema', 'pg_catalog') "
            "ORDER BY table_schema, table_name, ordinal_position"
        ).fetchall()
        return [(str(s), str(t), str(c), str(k)) for s, t, c, k in rows]


@contextmanager
def open_sandbox(plan: SandboxPlan, filesystem: Any | None = None) -> Iterator[DuckDBSandbox]:
    """A fresh DuckDB with views over the plan's zones only, then locked down; closed and its
    spill folder removed afterwards.

    DuckDB always lets a connection read its own temp folder (it adds it to
    allowed_directories), and by default that is the server's .tmp/, where any query's
    spilled rows land. So each console query spills into a fresh, empty folder of its own:
    all it can read there is what it spilled itself."""
    spill = Path(tempfile.mkdtemp(prefix="medalist-console-"))
    engine = DuckDBEngine(MEMORY_LIMIT, temp_dir=spill, filesystem=filesystem)
    try:
        _lock_down(engine, plan)
        yield DuckDBSandbox(engine)
    finally:
        engine.close()
        shutil.rmtree(spill, ignore_errors=True)


def _lock_down(engine: DuckDBEngine, plan: SandboxPlan) -> None:
    con = engine.con
    con.execute(f"DROP SCHEMA silver CASCADE; DROP SCHEMA gold CASCADE; DROP SCHEMA {INCOMING}")
    for zone in sorted(plan.zones):
        con.execute(f"CREATE SCHEMA {zone}")
    plan.expose(engine)
    for name, files in plan.quarantine.items():
        con.execute(f"CREATE VIEW quarantine.{ident(name)} AS {_quarantine_sql(files)}")
    for name, landed in plan.landing.items():
        _expose_landing(con, name, landed)
    folders = ", ".join(literal(folder) for folder in plan.folders)
    con.execute(f"SET allowed_directories = [{folders}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _quarantine_sql(files: list[str]) -> str:
    if not files:
        return "SELECT NULL::VARCHAR[] AS _rules, NULL::VARCHAR AS _reason WHERE false"
    listed = ", ".join(literal(f) for f in files)
    return f"SELECT * FROM read_parquet([{listed}], union_by_name = true)"


def _expose_landing(con: duckdb.DuckDBPyConnection, name: str, landed: LandedTable) -> None:
    """landing.<dataset> as delivered (text), with the file names; a view saying why when
    the files cannot be read as one table."""
    try:
        con.execute(f"CREATE VIEW landing.{ident(name)} AS {_landing_sql(landed)}")
    except duckdb.Error as exc:
        why = literal(f"landing.{name} cannot be read as one table: {exc}".splitlines()[0])
        con.execute(f"CREATE VIEW landing.{ident(name)} AS SELECT {why} AS error")


def _landing_sql(landed: LandedTable) -> str:
    listed = "[" + ", ".join(literal(url) for url in landed.urls) + "]"
    if not landed.urls:
        return "SELECT NULL::VARCHAR AS filename WHERE false"
    if landed.format in (Format.json, Format.jsonl):
        return f"SELECT * FROM read_json({listed}, filename = true, union_by_name = true)"
    if landed.format == Format.parquet:
        return f"SELECT * FROM read_parquet({listed}, filename = true, union_by_name = true)"
    return (
        f"SELECT * FROM read_csv({listed}, all_varchar = true, filename = true, "
        "union_by_name = true, ignore_errors = true)"
    )


def quarantine_page(
    url: str, page: int, per: int, filesystem: Any | None = None
) -> tuple[list[str], list[tuple[Any, ...]], int]:
    """(columns, one page of a quarantine file's rows by source row, how many rows it holds),
    without the lineage every row of its run shares. For the dashboard's run page, which
    checked the role; read through the pipeline's filesystem (s3fs for a lake on S3)."""
    source = f"read_parquet({literal(url)})"
    with duckdb.connect() as con:
        if filesystem is not None:
            con.register_filesystem(filesystem)
        (total,) = con.execute(f"SELECT count(*) FROM {source}").fetchone() or (0,)
        cursor = con.execute(
            f"SELECT * EXCLUDE (_run_id, _ingested_at) FROM {source} "
            f"ORDER BY _source_row LIMIT {int(per)} OFFSET {int(page) * int(per)}"
        )
        return [d[0] for d in cursor.description or []], cursor.fetchall(), int(total)
