"""The SQL console (Athena in the AWS design): ad-hoc read-only SQL over the zones a role may
see. It is a security boundary, kept three times over:

1. Before the engine: one statement, a query (SELECT / WITH / EXPLAIN / DESCRIBE) and nothing
   else, no file-reading or SQL-running table functions, every table named by an allowed zone.
2. In the engine: a fresh DuckDB whose external access is off except the role's zone folders,
   with its configuration locked (no ATTACH, COPY TO, INSTALL/LOAD, SET).
3. Bounded: a time limit (the query is interrupted), a page of rows, a memory limit.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from medalist.access import User, Users
from medalist.config import Format, Pipeline
from medalist.contracts.rules import ident, literal
from medalist.engine.duckdb import DuckDBEngine
from medalist.engine.formats import detect_format
from medalist.errors import Refused
from medalist.states.lake import expose_gold, expose_silver
from medalist.workflow.context import Ports

TIME_LIMIT_S = 10.0
PAGE_ROWS = 100
DOWNLOAD_ROWS = 100_000
MEMORY_LIMIT = "512MB"
# Table functions that read files or run SQL given as text: never from the console.
_DENIED = re.compile(
    r"^(read_\w+|\w+_scan|glob|sniff_csv|query|query_table|parquet_\w+|iceberg_\w+|delta_\w+|"
    r"duckdb_\w+|pragma_\w+|which_secret|load_aws_credentials)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    has_more: bool
    seconds: float


def check_sql(sql: str, user: User) -> str:
    """The statement, if the console may run it for `user`; else Refused saying why."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise Refused("the query is empty")
    body = re.sub(r"^explain(\s+analyze)?\s+", "", text, flags=re.IGNORECASE)
    try:
        statements = [s for s in sqlglot.parse(body, dialect="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise Refused(f"not valid SQL: {first.get('description', exc)}") from None
    if len(statements) != 1:
        raise Refused("one statement at a time", fix="Remove everything after the first `;`.")
    (tree,) = statements
    if not isinstance(tree, exp.Query | exp.Describe):
        raise Refused(
            f"only SELECT, WITH, EXPLAIN and DESCRIBE run here, not {tree.key.upper()}",
            fix="The console is read-only.",
        )
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for func in tree.find_all(exp.Func):
        name = func.name if isinstance(func, exp.Anonymous) else func.sql_name()
        if _DENIED.match(name or ""):
            raise Refused(
                f"{name}() is not allowed in the console",
                fix="Query the zones' tables (e.g. gold.daily_sales) instead of files.",
            )
    for table in tree.find_all(exp.Table):
        if not table.name or isinstance(table.this, exp.Func):
            continue
        zone = table.db.lower()
        if not zone:
            if table.name.lower() in ctes:
                continue
            raise Refused(
                f"table {table.name!r} needs its zone, e.g. gold.{table.name}",
                fix=f"Zones you may read: {', '.join(sorted(user.role.zone_set))}.",
            )
        if table.catalog or zone not in ("landing", "silver", "gold", "quarantine"):
            raise Refused(f"{table.sql()!r} is not a table of the lake's zones")
        user.require(zone)
    return text


class Console:
    """Runs checked queries for one user in a sandbox built from the lake's current state."""

    def __init__(
        self, pipeline: Pipeline, ports: Ports, user: User, users: Users | None = None
    ) -> None:
        self.pipeline, self.ports, self.user, self.users = pipeline, ports, user, users

    def run(
        self, sql: str, *, page: int = 0, page_rows: int = PAGE_ROWS, limit_s: float = TIME_LIMIT_S
    ) -> QueryResult:
        text = check_sql(sql, self.user)
        started = time.monotonic()
        try:
            result = self._execute(text, page, page_rows, limit_s)
        except Refused as exc:
            self._remember(text, None, time.monotonic() - started, exc.message)
            raise
        self._remember(text, len(result.rows), result.seconds, None)
        return result

    def _execute(self, text: str, page: int, page_rows: int, limit_s: float) -> QueryResult:
        engine = self._sandbox()
        con = engine.con
        timer = threading.Timer(limit_s, con.interrupt)
        started = time.monotonic()
        timer.start()
        try:
            pageable = not re.match(r"^(explain|describe)\b", text, re.IGNORECASE)
            sql = (
                f"SELECT * FROM ({text}) AS q LIMIT {page_rows + 1} OFFSET {page * page_rows}"
                if pageable
                else text
            )
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(page_rows + 1)
        except duckdb.InterruptException:
            raise Refused(
                f"stopped after the {limit_s:g} s time limit",
                fix="Filter or aggregate more, or add a LIMIT.",
            ) from None
        except duckdb.Error as exc:
            message = str(exc).strip().splitlines()[0]
            raise Refused(f"the engine refused it: {message}") from None
        finally:
            timer.cancel()
            engine.close()
        return QueryResult(
            columns, rows[:page_rows], len(rows) > page_rows, time.monotonic() - started
        )

    def _sandbox(self) -> DuckDBEngine:
        """A fresh DuckDB with views over the user's zones only, then locked down."""
        lake, zones = self.pipeline.lake_path, self.user.role.zone_set
        engine = DuckDBEngine(MEMORY_LIMIT)
        con = engine.con
        con.execute("DROP SCHEMA silver CASCADE; DROP SCHEMA gold CASCADE")
        for zone in sorted(zones):
            con.execute(f"CREATE SCHEMA {zone}")
        if "silver" in zones:
            expose_silver(engine, self.ports, self.pipeline)
        if "gold" in zones:
            expose_gold(engine, self.ports, self.pipeline)
        if "quarantine" in zones:
            self._expose_quarantine(con)
        if "landing" in zones:
            self._expose_landing(con)
        folders = ", ".join(literal(f"{lake / zone}/") for zone in sorted(zones))
        con.execute(f"SET allowed_directories = [{folders}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return engine

    def _expose_quarantine(self, con: duckdb.DuckDBPyConnection) -> None:
        for name in self.pipeline.datasets:
            live = self.ports.runlog.live_runs(name)
            files = [
                self.ports.storage.url("quarantine", f.path)
                for f in self.ports.storage.find("quarantine", f"{name}/*.parquet")
                if f.path.rsplit("/", 1)[-1].removesuffix(".parquet") in live
            ]
            body = (
                f"SELECT * FROM read_parquet([{', '.join(literal(f) for f in files)}], "
                "union_by_name = true)"
                if files
                else "SELECT NULL::VARCHAR[] AS _rules, NULL::VARCHAR AS _reason WHERE false"
            )
            con.execute(f"CREATE VIEW quarantine.{ident(name)} AS {body}")

    def _expose_landing(self, con: duckdb.DuckDBPyConnection) -> None:
        """landing.<dataset>: the landed files that runs could read, as delivered (text), with
        their file names. Files that failed to read stay out: they cannot be read here either."""
        storage = self.ports.storage
        for name, spec in self.pipeline.datasets.items():
            live = self.ports.runlog.live_runs(name)
            files = sorted(
                {
                    r.file
                    for r in self.ports.runlog.list(dataset=name, limit=None)
                    if r.run_id in live
                }
            )
            listed = "[" + ", ".join(literal(storage.url("landing", f)) for f in files) + "]"
            fmt = detect_format(files[0], spec.format, name) if files else Format.csv
            if not files:
                body = "SELECT NULL::VARCHAR AS filename WHERE false"
            elif fmt in (Format.json, Format.jsonl):
                body = f"SELECT * FROM read_json({listed}, filename = true, union_by_name = true)"
            elif fmt == Format.parquet:
                body = (
                    f"SELECT * FROM read_parquet({listed}, filename = true, union_by_name = true)"
                )
            else:
                body = (
                    f"SELECT * FROM read_csv({listed}, all_varchar = true, filename = true, "
                    "union_by_name = true, ignore_errors = true)"
                )
            try:
                con.execute(f"CREATE VIEW landing.{ident(name)} AS {body}")
            except duckdb.Error as exc:
                why = literal(f"landing.{name} cannot be read as one table: {exc}".splitlines()[0])
                con.execute(f"CREATE VIEW landing.{ident(name)} AS SELECT {why} AS error")

    def _remember(self, sql: str, rows: int | None, seconds: float, error: str | None) -> None:
        if self.users is not None:
            self.users.remember_query(self.user.name, sql, rows, seconds, error)
