"""The query console as the dashboard runs it (medalist.query does the checking and the
running): a refused query is kept in the history too, a result gets its total row count,
and the editor lists the tables and columns the role may query."""

from __future__ import annotations

import re
from typing import Any

from medalist.access import User
from medalist.errors import Refused
from medalist.query import Console, QueryResult, check_sql
from medalist.web.context import Dashboard

COUNT_LIMIT_S = 10.0  # counting the rows of a result gives up after this
KEPT_CHARS = 4_000  # of a refused query's text, in the history


def run_query(
    dash: Dashboard, user: User, sql: str, *, page: int = 0, page_rows: int | None = None
) -> QueryResult:
    """Console.run, but a query refused before it runs (malformed, or a zone or function
    the role may not use) is kept in the user's history with its reason, as run ones are."""
    console = Console(dash.pipeline, dash.ports, user, dash.users)
    try:
        check_sql(sql, user)
    except Refused as exc:
        kept = sql[:KEPT_CHARS].encode("utf-8", "replace").decode("utf-8")
        dash.users.remember_query(user.name, kept, None, 0.0, exc.message)
        raise
    if page_rows is None:
        return console.run(sql, page=page)
    return console.run(sql, page=page, page_rows=page_rows)


def total_rows(dash: Dashboard, user: User, sql: str) -> int | None:
    """How many rows the whole result has (None for EXPLAIN/DESCRIBE, or when counting
    fails or takes longer than COUNT_LIMIT_S); the query passed check_sql already."""
    text = check_sql(sql, user)
    if re.match(r"^(explain|describe)\b", text, re.IGNORECASE):
        return None
    with Console(dash.pipeline, dash.ports, user).sandbox() as sandbox:
        return sandbox.count(text, COUNT_LIMIT_S)


def tables(dash: Dashboard, user: User) -> list[dict[str, Any]]:
    """The tables of the role's zones, each with its columns and their types."""
    with Console(dash.pipeline, dash.ports, user).sandbox() as sandbox:
        rows = sandbox.tables()
    found: dict[str, dict[str, Any]] = {}
    for schema, table, column, kind in rows:
        entry = found.setdefault(f"{schema}.{table}", {"name": f"{schema}.{table}", "columns": []})
        entry["columns"].append({"name": column, "type": str(kind).lower()})
    return list(found.values())
