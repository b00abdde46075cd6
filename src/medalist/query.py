"""The SQL console (Athena in the AWS design): ad-hoc read-only SQL over the zones a role may
see. It is a security boundary, kept three times over:

1. Before the engine: one statement, a query (SELECT / WITH / EXPLAIN / DESCRIBE) and nothing
   else, no file-reading or SQL-running table functions, every table named by an allowed zone.
2. In the engine: a fresh sandbox holding the role's zones only (a SandboxPlan), whose
   external access is off except the role's zone folders, with its configuration locked (no
   ATTACH, COPY TO, INSTALL/LOAD, SET): the console port, engine/console.py.
3. Bounded: a time limit (the query is interrupted), a page of rows, a memory limit.
"""

from __future__ import annotations

import re
import time
from contextlib import AbstractContextManager

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.tokens import TokenType

from medalist.access import User, Users
from medalist.compaction import landed_runs
from medalist.config import Format, Pipeline
from medalist.engine import Engine
from medalist.engine.console import (
    BadQuery,
    ConsoleSandbox,
    LandedTable,
    QueryResult,
    SandboxPlan,
    first_line,
)
from medalist.engine.formats import detect_format
from medalist.errors import Refused
from medalist.states.lake import expose_gold, expose_silver, live_quarantine
from medalist.wiring import open_console
from medalist.workflow.context import Ports

__all__ = ["BadQuery", "Console", "QueryResult", "check_sql"]

TIME_LIMIT_S = 10.0
PAGE_ROWS = 100
DOWNLOAD_ROWS = 100_000
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
        raise BadQuery(f"not valid SQL: {first_line(first.get('description') or exc)}") from None
    except RecursionError:
        raise BadQuery(
            "the query nests too deeply to check", fix="Flatten it, e.g. with WITH clauses."
        ) from None
    except Exception as exc:  # sqlglot's TokenError, and what it wraps (IndexError, ...)
        raise BadQuery(f"not valid SQL: {first_line(exc)}", fix=_UNCLOSED) from None
    if len(statements) != 1:
        raise BadQuery("one statement at a time", fix="Remove everything after the first `;`.")
    return statements[0]


_UNCLOSED = "Check for an unclosed quote ('), identifier (\"), comment (/*) or $$ string."


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
            with self.sandbox() as sandbox:
                result = sandbox.page(text, page, page_rows, limit_s)
        except Refused as exc:
            self._remember(text, None, time.monotonic() - started, exc.message)
            raise
        self._remember(text, len(result.rows), result.seconds, None)
        return result

    def sandbox(self) -> AbstractContextManager[ConsoleSandbox]:
        """The engine's sandbox holding the user's zones only, locked down; closed (and its
        spilled rows removed) on leaving the `with`."""
        return open_console(self.pipeline, self.plan())

    def plan(self) -> SandboxPlan:
        """What the user's sandbox holds, as the run log and the storage say now."""
        zones = self.user.role.zone_set
        datasets = self.pipeline.datasets
        return SandboxPlan(
            zones=zones,
            folders=[f"{self.pipeline.zone_url(zone)}/" for zone in sorted(zones)],
            quarantine=(
                {name: live_quarantine(self.ports, name) for name in datasets}
                if "quarantine" in zones
                else {}
            ),
            landing=(
                {name: self._landed(name, spec.format) for name, spec in datasets.items()}
                if "landing" in zones
                else {}
            ),
            expose=self._expose,
        )

    def _expose(self, engine: Engine) -> None:
        zones = self.user.role.zone_set
        if "silver" in zones:
            expose_silver(engine, self.ports, self.pipeline)
        if "gold" in zones:
            expose_gold(engine, self.ports, self.pipeline)

    def _landed(self, name: str, declared: Format | None) -> LandedTable:
        """landing.<dataset>: the landed files that runs could read, as delivered. Files that
        failed to read stay out: they cannot be read here either."""
        live = landed_runs(self.ports, name)
        runs = self.ports.runlog.list(dataset=name, limit=None)
        files = sorted({r.file for r in runs if r.run_id in live})
        fmt = detect_format(files[0], declared, name) if files else Format.csv
        return LandedTable([self.ports.storage.url("landing", f) for f in files], fmt)

    def _remember(self, sql: str, rows: int | None, seconds: float, error: str | None) -> None:
        if self.users is not None:
            self.users.remember_query(self.user.name, sql, rows, seconds, error)
