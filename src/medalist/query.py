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
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.tokens import TokenType

from medalist.access import User, Users
from medalist.compaction import landed_runs
from medalist.config import Format, Pipeline
from medalist.contracts.rules import ident, literal
from medalist.engine.duckdb import DuckDBEngine
from medalist.engine.formats import detect_format
from medalist.errors import Refused
from medalist.incremental import INCOMING
from medalist.states.lake import expose_gold, expose_silver
from medalist.wiring import engine_filesystem
from medalist.workflow.context import Ports

TIME_LIMIT_S = 10.0
PAGE_ROWS = 100
DOWNLOAD_ROWS = 100_000
MEMORY_LIMIT = "512MB"
# Bounds checked before the parser runs: sqlglot recurses once per nesting level, so 50
# nested parentheses used to end in RecursionError (a 500).
MAX_SQL_CHARS = 20_000
MAX_NESTING = 32
_OPEN = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE}
_CLOSE = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE}
ZONES = ("landing", "silver", "gold", "quarantine")
# Functions that read files, run SQL given as text, or show the catalog and the settings
# (whose view definitions and allowed_directories carry the lake's absolute paths).
_DENIED = re.compile(
    r"^(read_\w+|\w+_scan|glob|sniff_csv|query|query_table|parquet_\w+|iceberg_\w+|delta_\w+|"
    r"duckdb_\w+|pragma_\w+|sqlite_\w+|pg_(?!typeof$)\w+|current_setting|which_secret|"
    r"load_aws_credentials|getenv)$",
    re.IGNORECASE,
)
# Table functions (in FROM) that make rows out of their arguments only.
_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "json_each", "json_tree"})
# Catalog views that list only what the sandbox holds (the role's zone schemas) and carry no
# view definitions; information_schema.views and sqlite_master / duckdb_views() do.
_CATALOG_VIEWS = frozenset({"schemata", "tables", "columns"})


class BadQuery(Refused):
    """The text is not a query the console can run: malformed, too big, too deep, or the
    engine could not run it. A 400 over HTTP (a refusal by role is a 403)."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    has_more: bool
    seconds: float


def check_sql(sql: str, user: User) -> str:
    """The statement, if the console may run it for `user`; else BadQuery (malformed) or
    Refused (not allowed) saying why. Decision 0014 lists what is denied and why."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise BadQuery("the query is empty")
    if len(text) > MAX_SQL_CHARS:
        raise BadQuery(
            f"the query is {len(text):,} characters; the console takes at most {MAX_SQL_CHARS:,}",
            fix="Shorten it, e.g. move long value lists into a gold model.",
        )
    try:  # JSON may carry a lone surrogate ("\ud800"): neither DuckDB nor SQLite takes it
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadQuery(
            f"the query is not valid Unicode text at character {exc.start + 1}",
            fix="Remove the stray surrogate escape (\\ud800-\\udfff) from it.",
        ) from None
    body = re.sub(r"^explain(\s+analyze)?\s+", "", text, flags=re.IGNORECASE)
    tree = _parse(body)
    if not isinstance(tree, exp.Query | exp.Describe):
        raise Refused(
            f"only SELECT, WITH, EXPLAIN and DESCRIBE run here, not {tree.key.upper()}",
            fix="The console is read-only.",
        )
    for func in tree.find_all(exp.Func):
        name = func.name if isinstance(func, exp.Anonymous) else func.sql_name()
        if _DENIED.match(name or ""):
            raise Refused(
                f"{name}() is not allowed in the console",
                fix="Query the zones' tables (e.g. gold.daily_sales) instead of files.",
            )
    ctes = _cte_references(tree)
    for table in tree.find_all(exp.Table):
        if id(table) not in ctes:
            _check_table(table, user)
    return text


def _parse(body: str) -> exp.Expr:
    """One statement's tree, or BadQuery whatever the tokenizer or the parser raises."""
    try:
        tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(body)
        depth = deepest = 0
        for token in tokens:
            depth += (token.token_type in _OPEN) - (token.token_type in _CLOSE)
            deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            raise BadQuery(
                f"the query nests {deepest} levels deep; the console takes at most {MAX_NESTING}",
                fix="Flatten it, e.g. with WITH clauses.",
            )
        statements = [s for s in sqlglot.parse(body, dialect="duckdb") if s is not None]
    except BadQuery:
        raise
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise BadQuery(f"not valid SQL: {_short(first.get('description') or exc)}") from None
    except RecursionError:
        raise BadQuery(
            "the query nests too deeply to check", fix="Flatten it, e.g. with WITH clauses."
        ) from None
    except Exception as exc:  # sqlglot's TokenError, and what it wraps (IndexError, ...)
        raise BadQuery(f"not valid SQL: {_short(exc)}", fix=_UNCLOSED) from None
    if len(statements) != 1:
        raise BadQuery("one statement at a time", fix="Remove everything after the first `;`.")
    return statements[0]


_UNCLOSED = "Check for an unclosed quote ('), identifier (\"), comment (/*) or $$ string."


def _short(reason: object) -> str:
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _cte_references(tree: exp.Expr) -> set[int]:
    """ids of the Table nodes that name a CTE visible in their own scope (sqlglot's scopes,
    as the engine resolves them). A name only shadowed in another scope is not one of them:
    `FROM sqlite_master, (WITH sqlite_master AS (...) ...)` reads the real sqlite_master."""
    try:
        scopes = traverse_scope(tree)
    except RecursionError:
        raise BadQuery(
            "the query nests too deeply to check", fix="Flatten it, e.g. with WITH clauses."
        ) from None
    except Exception:  # a shape the scope walk does not know: every table must be zoned
        return set()
    found = set()
    for scope in scopes:
        visible = {name.lower() for name in scope.cte_sources}
        for table in scope.tables:
            if not (table.db or table.catalog) and table.name.lower() in visible:
                found.add(id(table))
    return found


def _check_table(table: exp.Table, user: User) -> None:
    """A table the query reads: a table function that only makes rows, a zone's table the
    role may see, or the catalog's list of those; Refused otherwise."""
    if isinstance(table.this, exp.Func):
        func = table.this
        name = (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()
        if table.db or table.catalog or name not in _TABLE_FUNCTIONS:
            raise Refused(
                f"{name}() is not allowed in the console",
                fix=f"Table functions allowed: {', '.join(sorted(_TABLE_FUNCTIONS))}.",
            )
        return
    zone = table.db.lower()
    zones = ", ".join(sorted(user.role.zone_set))
    if not zone:
        raise Refused(
            f"table {table.name!r} needs its zone, e.g. gold.{table.name}",
            fix=f"Zones you may read: {zones}. A quoted file path is not a table here.",
        )
    if table.catalog:
        raise Refused(f"{table.sql()!r} is not a table of the lake's zones", fix=_ZONES_FIX)
    if zone == "information_schema" and table.name.lower() in _CATALOG_VIEWS:
        return
    if zone not in ZONES:
        raise Refused(f"{table.sql()!r} is not a table of the lake's zones", fix=_ZONES_FIX)
    user.require(zone)


_ZONES_FIX = (
    "Name tables as zone.table (e.g. gold.daily_sales); DESCRIBE or "
    "information_schema.tables / columns list them."
)


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
        with self.sandbox() as engine:
            return self._fetch_page(engine, text, page, page_rows, limit_s)

    def _fetch_page(
        self, engine: DuckDBEngine, text: str, page: int, page_rows: int, limit_s: float
    ) -> QueryResult:
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
            raise BadQuery(
                f"stopped after the {limit_s:g} s time limit",
                fix="Filter or aggregate more, or add a LIMIT.",
            ) from None
        except duckdb.Error as exc:
            message = str(exc).strip().splitlines()[0]
            raise BadQuery(f"the engine refused it: {_short(message)}") from None
        finally:
            timer.cancel()
        return QueryResult(
            columns, rows[:page_rows], len(rows) > page_rows, time.monotonic() - started
        )

    @contextmanager
    def sandbox(self) -> Iterator[DuckDBEngine]:
        """A fresh DuckDB with views over the user's zones only, then locked down; closed
        and its spill folder removed afterwards.

        DuckDB always lets a connection read its own temp folder (it adds it to
        allowed_directories), and by default that is the server's .tmp/, where any query's
        spilled rows land. So each console query spills into a fresh, empty folder of its
        own: all it can read there is what it spilled itself."""
        spill = Path(tempfile.mkdtemp(prefix="medalist-console-"))
        engine = DuckDBEngine(
            MEMORY_LIMIT, temp_dir=spill, filesystem=engine_filesystem(self.pipeline)
        )
        try:
            self._lock_down(engine)
            yield engine
        finally:
            engine.close()
            shutil.rmtree(spill, ignore_errors=True)

    def _lock_down(self, engine: DuckDBEngine) -> None:
        zones = self.user.role.zone_set
        con = engine.con
        con.execute(f"DROP SCHEMA silver CASCADE; DROP SCHEMA gold CASCADE; DROP SCHEMA {INCOMING}")
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
        folders = ", ".join(literal(f"{self.pipeline.zone_url(zone)}/") for zone in sorted(zones))
        con.execute(f"SET allowed_directories = [{folders}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

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
            live = landed_runs(self.ports, name)
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
