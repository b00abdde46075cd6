"""`medalist doctor` and `medalist validate --connect`: check what a run will need before one
runs: the lake can be written, and the destination is reachable, takes the credentials, has the
database, and lets the user create schemas and tables. Each check that fails says how to fix it;
the checks after a failed one are not tried (each needs the one before).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg

from medalist.config import Pipeline
from medalist.errors import MedalistError
from medalist.render import redact

Verdict = Literal["ok", "failed", "skipped"]
SCHEMAS = ("silver", "gold")


@dataclass(frozen=True)
class Finding:
    """One check: what was checked, its verdict, what was seen, and the fix when it failed."""

    check: str
    verdict: Verdict
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict != "failed"


def examine(pipeline: Pipeline) -> list[Finding]:
    """Every check, in order: the lake, then the destination."""
    return [_lake(pipeline.lake_path), *check_destination(pipeline.destination_url)]


def _lake(lake: Path) -> Finding:
    existing = next((p for p in (lake, *lake.parents) if p.exists()), None)
    if existing is not None and os.access(existing, os.W_OK | os.X_OK) and existing.is_dir():
        return Finding("lake", "ok", f"{lake} can be written")
    return Finding(
        "lake",
        "failed",
        f"{lake} cannot be created or written ({existing} is not a writable folder)",
        fix="Fix the folder's permissions, or point `lake:` in pipeline.yaml elsewhere.",
    )


def check_destination(url: str) -> list[Finding]:
    """The destination's checks, by URL scheme."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("postgresql", "postgres"):
        return _postgres(url)
    if scheme == "duckdb":
        return [_duckdb(Path(url.removeprefix("duckdb:///")))]
    return [_opens(url)]


_PG_CHECKS = ("reachable", "credentials", "database", "privileges")


def _postgres(url: str) -> list[Finding]:
    from medalist.destination.postgres import connect_error

    parts = urlsplit(url)
    where = f"PostgreSQL at {parts.hostname or 'localhost'}:{parts.port or 5432}"
    try:
        con = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        failed, error = connect_error(exc, url)
        upto = _PG_CHECKS.index(failed)
        done = [
            Finding(name, "ok", _PASSED[name].format(where=where)) for name in _PG_CHECKS[:upto]
        ]
        later = [
            Finding(name, "skipped", f"not checked: needs {failed}")
            for name in _PG_CHECKS[upto + 1 :]
        ]
        return [*done, _failed(failed, error), *later]
    with con:
        user, database = con.execute("SELECT current_user, current_database()").fetchone() or (
            "",
            "",
        )
        found = [
            Finding("reachable", "ok", _PASSED["reachable"].format(where=where)),
            Finding("credentials", "ok", f"logged in as {user}"),
            Finding("database", "ok", f"database {database} exists"),
        ]
        return [*found, _privileges(con, user, database)]


_PASSED = {
    "reachable": "{where} answers",
    "credentials": "{where} took the credentials",
    "database": "the database exists",
}


def _privileges(con: psycopg.Connection[Any], user: str, database: str) -> Finding:
    """Loads run CREATE SCHEMA IF NOT EXISTS (which needs CREATE on the database even when the
    schema exists), then create and replace tables in silver and gold."""
    (may_create,) = con.execute(
        "SELECT has_database_privilege(current_database(), 'CREATE')"
    ).fetchone() or (False,)
    if not may_create:
        return Finding(
            "privileges",
            "failed",
            f"user {user} may not create schemas in database {database}",
            fix=f"As the database's owner or a superuser: GRANT CREATE ON DATABASE "
            f"{database} TO {user};",
        )
    closed = [
        schema
        for (schema, may) in con.execute(
            "SELECT nspname, has_schema_privilege(nspname, 'CREATE') FROM pg_namespace "
            "WHERE nspname = ANY(%s)",
            (list(SCHEMAS),),
        ).fetchall()
        if not may
    ]
    if closed:
        return Finding(
            "privileges",
            "failed",
            f"user {user} may not create tables in schema(s) {', '.join(closed)}",
            fix=f"As the schemas' owner or a superuser: GRANT USAGE, CREATE ON SCHEMA "
            f"{', '.join(closed)} TO {user};",
        )
    return Finding("privileges", "ok", f"user {user} may create schemas and tables")


def _duckdb(path: Path) -> Finding:
    import duckdb

    if not path.exists():
        existing = next((p for p in path.parents if p.exists()), None)
        if existing is not None and os.access(existing, os.W_OK | os.X_OK):
            return Finding("destination", "ok", f"{path} will be created by the first load")
        return Finding(
            "destination",
            "failed",
            f"{path} cannot be created ({existing} is not writable)",
            fix="Fix the folder's permissions, or change `destination:` in pipeline.yaml.",
        )
    try:
        duckdb.connect(str(path)).close()
    except duckdb.Error as exc:
        return Finding(
            "destination",
            "failed",
            f"{path} cannot be opened: {' '.join(str(exc).split())}",
            fix="A DuckDB file takes one writing process: stop the other one (a dashboard "
            "or a SQL client holding it open), or use PostgreSQL for shared access.",
        )
    return Finding("destination", "ok", f"{path} opens for writing")


def _opens(url: str) -> Finding:
    from medalist.destination import open_destination

    try:
        open_destination(url).close()
    except MedalistError as exc:
        return _failed("destination", exc)
    return Finding("destination", "ok", f"{redact(url)} opens")


def _failed(check: str, error: MedalistError) -> Finding:
    return Finding(check, "failed", error.message, fix=error.fix)
