"""The console port (Athena in the AWS design): a sandboxed engine that runs one role's checked,
read-only queries over the tables of its zones, and nothing else (decisions 0014 and 0037).

The query layer (medalist.query) decides what a role's sandbox holds — a SandboxPlan of zones,
files and folders, in no engine's dialect — and checks each query's text; an adapter
(engine/duckdb/console.py) builds the views, locks itself down and runs the query, bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from medalist.config import Format
from medalist.engine import Engine
from medalist.errors import Refused


class BadQuery(Refused):
    """The text is not a query the console can run: malformed, too big, too deep, or the
    engine could not run it. A 400 over HTTP (a refusal by role is a 403)."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    has_more: bool
    seconds: float


@dataclass(frozen=True)
class LandedTable:
    """landing.<dataset>: the landed files runs could read, in the format they were read as."""

    urls: list[str]
    format: Format


@dataclass(frozen=True)
class SandboxPlan:
    """What one role's sandbox holds; everything else stays out of reach."""

    zones: frozenset[str]  # a schema each, e.g. {"gold", "silver"}
    folders: list[str]  # the only folders (URLs, ending in /) the engine may open
    quarantine: dict[str, list[str]]  # quarantine.<dataset> -> files of its live runs
    landing: dict[str, LandedTable]  # landing.<dataset>
    # silver.<dataset> and gold.<model>, made through the Engine port before the lock-down
    expose: Callable[[Engine], None]


class ConsoleSandbox(Protocol):
    """A locked engine holding one SandboxPlan; runs queries that passed query.check_sql."""

    def page(self, sql: str, page: int, page_rows: int, limit_s: float) -> QueryResult:
        """One page of the query's rows (EXPLAIN / DESCRIBE: all of them); BadQuery when the
        engine refuses it or `limit_s` seconds pass (the query is interrupted)."""

    def count(self, sql: str, limit_s: float) -> int | None:
        """How many rows the whole result has; None when counting fails or takes too long."""

    def tables(self) -> list[tuple[str, str, str, str]]:
        """(zone, table, column, type) of every table the sandbox holds, in column order."""


def first_line(reason: object) -> str:
    """The first line of an error's text, at most 200 characters."""
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    return text if len(text) <= 200 else text[:200] + "…"
