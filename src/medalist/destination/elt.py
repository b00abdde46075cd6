"""Gold models that run inside the destination (ELT, decision record 0021).

A model with `run_in: destination` is written in DuckDB SQL like every model; sqlglot translates
it to the destination's dialect, and Load runs it there after the silver load, in the same
transaction: the destination never shows silver and gold from different runs.

Materialisation is the engine's: a model is rebuilt whole (CREATE TABLE … AS into a fresh table,
then swapped in, or upserted on its key with `load: merge`), except that a model which
decomposes (medalist/incremental.py) merges a run that only adds rows: its previous table UNION
ALL the model over the run's rows, grouped again. Two bookkeeping tables in the destination's
`_medalist` schema make that safe to redo: `elt_loads` (runs whose Load committed: a run loaded
again, after a crash that lost its run-log record, rebuilds instead of adding its rows twice) and
`elt_models` (the tag a model's table was built from: another SQL or contract rebuilds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from medalist.config import LoadMode, Pipeline
from medalist.contracts.rules import ident, literal
from medalist.destination import SupportsModels, TableRef
from medalist.errors import MedalistError, TerminalError, TransientError
from medalist.gold import model_inputs
from medalist.incremental import decomposable, over_run_rows

# URL scheme -> sqlglot dialect of the destinations that can run models
DIALECTS = {
    "duckdb": "duckdb",
    "postgresql": "postgres",
    "postgres": "postgres",
    "redshift": "redshift",
}
BOOKKEEPING = "_medalist"  # schema of elt_loads and elt_models in the destination
FRESH = "__medalist_new"  # suffix of the table a model is built into before it is swapped in


def dialect_of(url: str) -> str | None:
    """The SQL dialect of the destination at `url`, None when it cannot run models."""
    return DIALECTS.get(urlsplit(url).scheme.lower())


def to_dialect(name: str, sql: str | exp.Expr, dialect: str) -> str:
    """The model's SQL (DuckDB's dialect) in `dialect`. ValueError names the model and the
    construct the dialect cannot do."""
    tree = sql.copy() if isinstance(sql, exp.Expr) else _parse(name, sql)
    _expand_group_by_all(tree)
    if dialect == "duckdb":
        return tree.sql(dialect="duckdb")
    construct = _refused(tree, dialect)
    if construct:
        raise ValueError(
            f"models.{name}.sql: {construct} cannot run in {dialect}; "
            "rewrite it, or set run_in: engine"
        )
    try:
        return tree.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise ValueError(
            f"models.{name}.sql: cannot run in {dialect}: {exc}; rewrite it, or set run_in: engine"
        ) from None


def _parse(name: str, sql: str) -> exp.Expr:
    try:
        return sqlglot.parse_one(sql, dialect="duckdb")
    except ParseError as exc:
        raise ValueError(f"models.{name}.sql: not valid SQL: {exc}") from None


def _expand_group_by_all(tree: exp.Expr) -> None:
    """GROUP BY ALL (DuckDB's) as the positions of the items that are not aggregates, which
    every dialect reads: SELECT day, count(*) … GROUP BY ALL -> GROUP BY 1."""
    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        if group is None or not group.args.get("all"):
            continue
        positions = [
            exp.Literal.number(i)
            for i, item in enumerate(select.expressions, 1)
            if not item.find(exp.AggFunc)
        ]
        select.set("group", exp.Group(expressions=positions) if positions else None)


# sqlglot passes these through unchanged, but PostgreSQL and Redshift cannot run them.
_LIST_TYPES = (exp.Array, exp.Struct, exp.Map, exp.Unnest, exp.Explode)
_STAR_EXTRAS = ("except", "except_", "replace", "rename")  # SELECT * EXCLUDE (…) and kin


def _refused(tree: exp.Expr, dialect: str) -> str | None:
    """The first construct of the model that `dialect` cannot run, described, or None."""
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            return f"the function {node.name}() (DuckDB's own: no translation is known)"
        if isinstance(node, exp.SetOperation) and node.args.get("by_name"):
            return "UNION/EXCEPT BY NAME"
        if isinstance(node, exp.Star) and any(node.args.get(a) for a in _STAR_EXTRAS):
            return "SELECT * EXCLUDE/REPLACE"
        name = type(node).__name__
        if isinstance(node, _LIST_TYPES) or name.startswith(("Array", "List", "Struct")):
            return f"lists and structs ({node.sql(dialect='duckdb')[:40]})"
        if isinstance(node, exp.Table) and not node.name:
            return f"the table function {node.sql(dialect='duckdb')[:40]}"
        if dialect == "redshift" and isinstance(node, exp.Filter):
            return "an aggregate FILTER (WHERE …)"
        if dialect == "redshift" and isinstance(node, exp.Distinct) and node.args.get("on"):
            return "DISTINCT ON"
    return None


def destination_problems(pipeline: Pipeline) -> list[str]:
    """What `medalist validate` refuses about the destination: a Redshift destination reads
    the lake with COPY from S3, so the lake must be on S3; and every elt_problems."""
    problems = []
    scheme = urlsplit(pipeline.destination_url).scheme.lower()
    if scheme == "redshift" and not pipeline.lake.startswith("s3://"):
        problems.append(
            "destination: Redshift loads with COPY from S3, so the lake must be there: set "
            "lake: s3://BUCKET/PREFIX (or use a postgresql:// destination)"
        )
    return problems + elt_problems(pipeline)


def elt_problems(pipeline: Pipeline) -> list[str]:
    """What stops the destination models from running: the destination cannot run models, a
    model depends on the wrong side, an input never reaches the destination, or the dialect
    cannot do a construct. Each names the model's key and the fix."""
    there = {n for n, m in pipeline.models.items() if m.run_in == "destination"}
    if not there:
        return []
    dialect = dialect_of(pipeline.destination_url)
    problems: list[str] = []
    for name, model in pipeline.models.items():
        key = f"models.{name}"
        try:
            inputs = model_inputs(name, model.sql)
        except ValueError:
            continue  # model_order reports it
        if name not in there:
            problems += [
                f"{key}: runs in the engine but reads gold.{t}, which runs in the destination "
                f"(during Load, after the engine's models): set run_in: destination for {name}, "
                f"or run_in: engine for {t}"
                for s, t in sorted(inputs)
                if s == "gold" and t in there
            ]
            continue
        if dialect is None:
            problems.append(
                f"{key}.run_in: the destination {urlsplit(pipeline.destination_url).scheme}:// "
                "cannot run models; use run_in: engine"
            )
            continue
        if model.load_mode == LoadMode.none:
            problems.append(f"{key}.load: none; a model that runs in the destination is a table")
        problems += _unreachable(pipeline, name, inputs)
        try:
            to_dialect(name, model.sql, dialect)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _unreachable(pipeline: Pipeline, name: str, inputs: set[tuple[str, str]]) -> list[str]:
    """Inputs of a destination model that Load never puts into the destination."""
    problems = []
    for schema, table in sorted(inputs):
        spec = pipeline.datasets.get(table) if schema == "silver" else pipeline.models.get(table)
        if spec is not None and spec.load_mode == LoadMode.none:
            where = "datasets" if schema == "silver" else "models"
            problems.append(
                f"models.{name}: reads {schema}.{table}, which is not loaded into the "
                f"destination ({where}.{table}.load: none)"
            )
    return problems


@dataclass(frozen=True)
class ModelJob:
    """One destination model to build in this Load."""

    name: str
    sql: str  # DuckDB's dialect, as in pipeline.yaml
    mode: LoadMode
    primary_key: tuple[str, ...]
    tag: str  # model SQL + input contracts (incremental.model_tag)


def run_models(
    dest: SupportsModels, jobs: Sequence[ModelJob], run_id: str, added: str | None
) -> tuple[dict[str, int], list[str]]:
    """Build every job in the destination, in order, inside its open transaction; return rows
    per table and the models merged. `added`: the dataset this run only added rows to (new
    keys), whose decomposing models may merge the run's rows; None rebuilds every model."""
    _bookkeeping(dest)
    loads = f"{ident(BOOKKEEPING)}.elt_loads"
    if dest.rows(f"SELECT 1 FROM {loads} WHERE run_id = {literal(run_id)}"):
        added = None  # loaded before: its rows are in every model already
    else:
        dest.execute(f"INSERT INTO {loads} (run_id) VALUES ({literal(run_id)})")
    models = f"{ident(BOOKKEEPING)}.elt_models"
    tags = dict(dest.rows(f"SELECT model, tag FROM {models}"))
    rows: dict[str, int] = {}
    merged: list[str] = []
    for job in jobs:
        try:
            count, merging = _build(
                dest, job, run_id, added if tags.get(job.name) == job.tag else None
            )
        except MedalistError as exc:
            raise _named(exc, job.name) from None
        rows[str(TableRef("gold", job.name))] = count
        if merging:
            merged.append(job.name)
        dest.execute(f"DELETE FROM {models} WHERE model = {literal(job.name)}")
        dest.execute(
            f"INSERT INTO {models} (model, tag) VALUES ({literal(job.name)}, {literal(job.tag)})"
        )
    return rows, merged


def _bookkeeping(dest: SupportsModels) -> None:
    schema = ident(BOOKKEEPING)
    dest.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    dest.execute(f"CREATE TABLE IF NOT EXISTS {schema}.elt_loads (run_id VARCHAR(64) PRIMARY KEY)")
    dest.execute(
        f"CREATE TABLE IF NOT EXISTS {schema}.elt_models "
        "(model VARCHAR(128) PRIMARY KEY, tag VARCHAR(64))"
    )


def _named(exc: MedalistError, name: str) -> MedalistError:
    """The error, saying which model failed (a transient one stays transient)."""
    message = f"gold model {name} failed in the destination: {exc.message}"
    fix = exc.fix or f"Fix models.{name}.sql in pipeline.yaml, or set run_in: engine."
    kind = TransientError if isinstance(exc, TransientError) else TerminalError
    return kind(message, fix=fix)


def _build(dest: SupportsModels, job: ModelJob, run_id: str, added: str | None) -> tuple[int, bool]:
    """Build one model into a fresh table and publish it; (rows, merged)."""
    table, fresh = TableRef("gold", job.name), TableRef("gold", job.name + FRESH)
    existing = dest.column_types(table)
    select = _merged(dest, job, run_id, added, existing) if added else None
    merging = select is not None
    if select is None:
        select = to_dialect(job.name, job.sql, dest.dialect)
    dest.execute(f"DROP TABLE IF EXISTS {_q(fresh)}")
    dest.create_as(fresh, select)
    rows = int(dest.rows(f"SELECT count(*) FROM {_q(fresh)}")[0][0])
    columns = list(dest.column_types(fresh))
    key = job.primary_key if job.mode == LoadMode.merge else ()
    if not key or list(existing) != columns:  # replace, a first build, or a changed model
        dest.execute(f"DROP TABLE IF EXISTS {_q(table)}")
        dest.execute(f"ALTER TABLE {_q(fresh)} RENAME TO {ident(table.name)}")
        dest.add_key(table, job.primary_key)
        return rows, merging
    # merge: the model's rows replace the rows with their keys; other rows stay (as an
    # engine model's merge load leaves them)
    matches = " AND ".join(f"{_q(table)}.{ident(k)} = {_q(fresh)}.{ident(k)}" for k in key)
    dest.execute(f"DELETE FROM {_q(table)} USING {_q(fresh)} WHERE {matches}")
    names = ", ".join(ident(c) for c in columns)
    dest.execute(f"INSERT INTO {_q(table)} ({names}) SELECT {names} FROM {_q(fresh)}")
    dest.execute(f"DROP TABLE {_q(fresh)}")
    return rows, merging


def _merged(
    dest: SupportsModels, job: ModelJob, run_id: str, added: str, existing: dict[str, str]
) -> str | None:
    """The model's new rows as its previous table merged with the model over this run's rows
    (decision 0009, in the destination's SQL and types), or None when it must be rebuilt."""
    plan = decomposable(job.sql)
    if plan is None or plan.dataset != added or not existing:
        return None
    if set(existing) != set(plan.keys) | set(plan.merges):
        return None
    dest.index_runs(TableRef("silver", added))
    incoming = to_dialect(job.name, over_run_rows(job.sql, added, run_id), dest.dialect)
    names = ", ".join(ident(c) for c in existing)
    columns = [
        f"CAST({plan.merges[c]}({ident(c)}) AS {kind}) AS {ident(c)}"
        if c in plan.merges
        else ident(c)
        for c, kind in existing.items()
    ]
    keys = ", ".join(ident(k) for k in plan.keys)
    return (
        f"SELECT {', '.join(columns)} FROM (SELECT {names} FROM {_q(TableRef('gold', job.name))} "
        f"UNION ALL SELECT {names} FROM ({incoming}) AS _incoming) AS _merged GROUP BY {keys}"
    )


def _q(table: TableRef) -> str:
    return f"{ident(table.schema)}.{ident(table.name)}"
