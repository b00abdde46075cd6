"""Checks across pipeline.yaml that one field alone cannot make."""

from __future__ import annotations

import functools
import re

import duckdb
import sqlglot
from sqlglot import exp

from medalist.config import DatasetSpec, Pipeline, is_identifier
from medalist.contracts.binding import model_problems
from medalist.contracts.values import value_problems
from medalist.destination.elt import destination_problems
from medalist.engine.portable import spark_pipeline_problems
from medalist.errors import ConfigError
from medalist.gold import model_order

_TIME_TYPES = {"date", "timestamp", "timestamptz"}


def check_pipeline(pipeline: Pipeline, path: str) -> None:
    """Raise one ConfigError listing every cross-field problem, each with its key path."""
    problems: list[str] = []
    if not pipeline.datasets:
        problems.append("datasets: declare at least one dataset")
    for name, dataset in pipeline.datasets.items():
        key = f"datasets.{name}"
        if not is_identifier(name):
            problems.append(f"{key}: names must be lower_snake_case (they become table names)")
        if name in pipeline.models:
            problems.append(f"{key}: a model has the same name; rename one of them")
        if not dataset.columns:
            problems.append(f"{key}.columns: declare at least one column")
        for key_col in dataset.primary_key:
            if key_col not in dataset.columns:
                problems.append(
                    f"{key}.primary_key: {key_col!r} is not one of the columns "
                    f"({', '.join(dataset.columns)})"
                )
        for col_name, col in dataset.columns.items():
            ctype = col.column_type
            for bound in ("min", "max"):
                if getattr(col, bound) is not None and ctype.name in ("boolean", "varchar"):
                    problems.append(
                        f"{key}.columns.{col_name}.{bound}: not meaningful for "
                        f"{ctype}; use accepted: [...] instead"
                    )
        problems += _column_problems(pipeline, name, dataset)
        problems += _rule_problems(name, dataset)
    for name, model in pipeline.models.items():
        key = f"models.{name}"
        if not is_identifier(name):
            problems.append(f"{key}: names must be lower_snake_case (they become table names)")
        if model.load_mode == "append":
            problems.append(
                f"{key}.load: models are rebuilt whole on every run, so append would "
                "duplicate them; use merge (with primary_key) or replace"
            )
    if not problems:
        try:
            model_order(pipeline)
        except ValueError as exc:
            problems.append(str(exc))
    if not problems:
        problems += _engine_problems(_checked_part(pipeline))
        if pipeline.engine == "spark":
            problems += spark_pipeline_problems(pipeline)
        problems += destination_problems(pipeline)  # incl. models run there
    if problems:
        raise ConfigError("; ".join(problems), path=path)


def _checked_part(pipeline: Pipeline) -> str:
    """What the engine checks read (datasets and models), as text: the cache key."""
    return pipeline.model_dump_json(include={"name", "datasets", "models"})


@functools.lru_cache(maxsize=32)
def _engine_problems(checked: str) -> tuple[str, ...]:
    """Rule values and model SQL, as DuckDB will read them (contracts/values.py, binding.py).
    Cached by content: commands, servers and tests load the same pipeline.yaml many times, and
    a DuckDB start costs ~30 ms."""
    pipeline = Pipeline.model_validate_json(checked)
    with duckdb.connect(config={"threads": 1}) as con:
        problems = value_problems(pipeline, con)
        if not problems:  # a model over a column whose rule is broken would fail too
            problems += model_problems(pipeline, con)
    return tuple(problems)


def _column_problems(pipeline: Pipeline, name: str, dataset: DatasetSpec) -> list[str]:
    problems = []
    for col_name, col in dataset.columns.items():
        key = f"datasets.{name}.columns.{col_name}"
        if col.pattern is not None:
            try:
                re.compile(col.pattern)
            except re.error as exc:
                problems.append(f"{key}.pattern: not a valid regular expression: {exc}")
        shortest, longest = col.min_length, col.max_length
        if shortest is not None and longest is not None and shortest > longest:
            problems.append(f"{key}: min_length is above max_length")
        if col.format is not None and col.column_type.name not in _TIME_TYPES:
            problems.append(f"{key}.format: only for date, timestamp and timestamptz columns")
        if col.references is not None:
            target, _, column = col.references.partition(".")
            other = pipeline.datasets.get(target)
            if other is None or column not in other.columns:
                known = ", ".join(
                    f"{d}.{c}" for d, spec in pipeline.datasets.items() for c in spec.primary_key
                )
                problems.append(
                    f"{key}.references: {col.references!r} is not a dataset.column of this "
                    f"pipeline (keys you could reference: {known or 'none'})"
                )
    return problems


def _rule_problems(name: str, dataset: DatasetSpec) -> list[str]:
    problems, seen = [], set()
    for i, rule in enumerate(dataset.rules):
        key = f"datasets.{name}.rules.{i}"
        if not is_identifier(rule.name):
            problems.append(f"{key}.name: {rule.name!r} must be lower_snake_case")
        if rule.name in seen:
            problems.append(f"{key}.name: {rule.name!r} is used by an earlier rule")
        seen.add(rule.name)
        try:
            tree = sqlglot.parse_one(rule.check, dialect="duckdb")
        except sqlglot.errors.ParseError as exc:
            first = exc.errors[0] if exc.errors else {}
            problems.append(f"{key}.check: not valid SQL: {first.get('description', exc)}")
            continue
        unknown = sorted({c.name for c in tree.find_all(exp.Column)} - set(dataset.columns))
        if unknown:
            problems.append(
                f"{key}.check: {', '.join(unknown)} not among the columns "
                f"({', '.join(dataset.columns)})"
            )
        if any(tree.find_all(exp.Select, exp.Subquery)):
            problems.append(f"{key}.check: one row's expression, without subqueries")
    return problems
