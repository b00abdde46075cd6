"""Model SQL bound before any run: each gold model is planned by DuckDB (the engine that will
run it) over empty tables shaped like what it reads, so a column no contract has (`quantty`) is
a configuration error with DuckDB's own "did you mean", not a run failing in Transform.

silver.<dataset> has the contract's columns with their types plus the lineage columns;
gold.<model> has the columns and types DuckDB infers for the model, in model order. Planning a
relation binds it without executing it, so a model over `range(1e9)` costs nothing here.

A model reading a dataset whose `on_schema_drift: evolve` may use columns the contract does
not name yet (they arrive with a file), so it and the models reading it are not bound.
"""

from __future__ import annotations

import re

import duckdb

from medalist.config import DriftPolicy, Pipeline
from medalist.contracts.rules import ident
from medalist.gold import model_inputs, model_order
from medalist.states.lake import LINEAGE_TYPES

# DuckDB errors that say the SQL cannot work whatever the data; anything else (a file a table
# function reads, say) is the run's business.
_BINDING_ERRORS = (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException)
_CANDIDATES = re.compile(r"Candidate bindings: (.*)")


def model_problems(pipeline: Pipeline, con: duckdb.DuckDBPyConnection) -> list[str]:
    """One line per model whose SQL does not bind over its inputs' columns."""
    if not pipeline.models:
        return []
    con.execute("CREATE SCHEMA IF NOT EXISTS silver; CREATE SCHEMA IF NOT EXISTS gold")
    for name, spec in pipeline.datasets.items():
        columns = {c: col.column_type.sql for c, col in spec.columns.items()} | LINEAGE_TYPES
        _empty_table(con, "silver", name, columns)
    unbound = {n for n, d in pipeline.datasets.items() if d.on_schema_drift == DriftPolicy.evolve}
    problems = []
    for name in model_order(pipeline):
        sql = pipeline.models[name].sql
        reads = {table for _, table in model_inputs(name, sql)}
        if reads & unbound:
            unbound.add(name)
            continue
        try:
            relation = con.sql(sql)
        except _BINDING_ERRORS as exc:
            problems.append(f"models.{name}.sql: {explain(exc)}")
            unbound.add(name)
            continue
        except duckdb.Error:
            unbound.add(name)
            continue
        types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
        _empty_table(con, "gold", name, types)
    return problems


def explain(exc: duckdb.Error) -> str:
    """DuckDB's message on one line, its candidate bindings as a did-you-mean.
    `Referenced column "quantty" not found in FROM clause! Candidate bindings: "quantity",
    "unit_price"` -> `column "quantty" not found in FROM clause. Did you mean "quantity"?`"""
    text = str(exc).split("\n\nLINE", 1)[0]
    first, *rest = text.splitlines()
    first = re.sub(r"^\w+ Error: ", "", first).rstrip("!")
    first = first.replace("Referenced column", "column")
    candidates = _CANDIDATES.search(" ".join(rest))
    if candidates:
        best = candidates[1].split(", ")[0]
        return f"{first}. Did you mean {best}?"
    return " ".join([first, *rest]).strip()


def _empty_table(
    con: duckdb.DuckDBPyConnection, schema: str, name: str, columns: dict[str, str]
) -> None:
    cols = ", ".join(f"{ident(c)} {kind}" for c, kind in columns.items())
    con.execute(f"CREATE OR REPLACE TABLE {ident(schema)}.{ident(name)} ({cols})")
