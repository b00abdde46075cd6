"""Gold models: parse their SQL, find what each reads, and order them so inputs build first."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import sqlglot
from sqlglot import exp

from medalist.config import Pipeline


def model_inputs(name: str, sql: str) -> set[tuple[str, str]]:
    """(schema, table) pairs a model reads. ValueError names the model and the problem."""
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, col {first.get('col')}" if first else ""
        raise ValueError(
            f"models.{name}.sql: not valid SQL{where}: {first.get('description', exc)}"
        ) from None
    if not isinstance(tree, exp.Query):
        raise ValueError(f"models.{name}.sql: must be one SELECT (or WITH … SELECT)")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    inputs: set[tuple[str, str]] = set()
    for table in tree.find_all(exp.Table):
        if not table.name:
            continue  # a table function such as range(10)
        if table.db:
            inputs.add((table.db.lower(), table.name.lower()))
        elif table.name not in ctes:
            raise ValueError(
                f"models.{name}.sql: table {table.name!r} needs its zone: write "
                f"silver.{table.name} or gold.{table.name}"
            )
    return inputs


def model_order(pipeline: Pipeline) -> list[str]:
    """Model names so that every model comes after the gold models it reads."""
    graph: dict[str, set[str]] = {}
    for name, model in pipeline.models.items():
        deps: set[str] = set()
        for schema, table in model_inputs(name, model.sql):
            if schema == "silver" and table in pipeline.datasets:
                continue
            if schema == "gold" and table in pipeline.models:
                deps.add(table)
                continue
            known = ", ".join(
                [f"silver.{d}" for d in pipeline.datasets]
                + [f"gold.{m}" for m in pipeline.models if m != name]
            )
            raise ValueError(
                f"models.{name}.sql: reads {schema}.{table}, which is not "
                f"defined. Known tables: {known}"
            )
        graph[name] = deps
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " → ".join(exc.args[1])
        raise ValueError(f"models: the models read each other in a cycle ({cycle})") from None


def models_in(pipeline: Pipeline, place: str) -> list[str]:
    """The models that run in `place` (engine or destination), in build order."""
    return [n for n in model_order(pipeline) if pipeline.models[n].run_in == place]


def input_contracts(pipeline: Pipeline, name: str) -> str:
    """The contracts of the datasets a model reads, as text: with its SQL, what a built
    version depends on (incremental.model_tag)."""
    datasets = pipeline.datasets
    inputs = model_inputs(name, pipeline.models[name].sql)
    return "\n".join(
        datasets[t].model_dump_json() for s, t in sorted(inputs) if s == "silver" and t in datasets
    )
