"""User SQL (gold models, SQL rules) is written once, in DuckDB's dialect; this module tells
which of it another engine can run, and translates it (sqlglot).

`spark_problems` is what `medalist validate` reports for `engine: spark`: the construct and
what to write instead, before any run. `spark_sql` is the translation the Spark engine runs:
zone tables (`silver.orders`) become the engine's views (`silver__orders`), and
`read_parquet('…')` becomes Spark's `parquet.\\`…\\``.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from medalist.config import Pipeline

ZONE_SCHEMAS = ("silver", "gold", "incoming")

# DuckDB constructs Spark 3.5 has no spelling for (or sqlglot does not translate) -> advice.
_REFUSED: list[tuple[type[exp.Expression], str, str]] = [
    (exp.Lambda, "a lambda", "use a SQL expression or a gold model over the exploded rows"),
    (exp.Struct, "a struct literal {…}", "select the fields as columns"),
    (exp.Array, "a list literal […]", "use IN (…) or separate columns"),
    (exp.Pivot, "PIVOT/UNPIVOT", "write it with CASE WHEN … GROUP BY"),
]


def view_name(schema: str, name: str) -> str:
    """The Spark temp view standing for `schema.name`."""
    return f"{schema}__{name}"


def _parse(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, dialect="duckdb")


def spark_problems(sql: str) -> list[str]:
    """What of `sql` (DuckDB's dialect) cannot run on Spark: one line per construct, each with
    a suggestion. Empty when it translates."""
    try:
        tree = _parse(sql)
    except sqlglot.errors.ParseError as exc:
        return [f"cannot be parsed: {str(exc).splitlines()[0]}"]
    problems: list[str] = []
    for kind, what, fix in _REFUSED:
        if tree.find(kind):
            problems.append(f"{what} has no Spark translation; {fix}")
    for star in tree.find_all(exp.Star):
        if any(star.args.get(k) for k in ("except_", "except", "replace", "rename")):
            problems.append("SELECT * EXCLUDE/REPLACE has no Spark translation; name the columns")
            break
    for union in tree.find_all(exp.Union):
        if union.args.get("by_name"):
            problems.append("UNION … BY NAME has no Spark translation; list the columns")
            break
    for func in tree.find_all(exp.Anonymous):
        problems.append(
            f"function {func.name}() is DuckDB's and has no Spark translation; use a standard "
            "SQL function (docs/engines.md lists what is portable)"
        )
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Anonymous | exp.Func):
            problems.append(
                f"table function {table.this.sql(dialect='duckdb')[:40]} is DuckDB's; read a "
                "zone table (silver.<dataset>, gold.<model>) instead"
            )
    try:
        sqlglot.transpile(
            sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE
        )
    except sqlglot.errors.SqlglotError as exc:
        problems.append(f"cannot be translated: {str(exc).splitlines()[0]}")
    return list(dict.fromkeys(problems))


def spark_sql(sql: str) -> str:
    """`sql` (DuckDB's dialect) in Spark SQL, over the engine's views."""
    tree = _parse(sql)
    for table in list(tree.find_all(exp.Table)):
        if isinstance(table.this, exp.ReadParquet | exp.Anonymous) and table.this.name.lower() in (
            "read_parquet",
            "",
        ):
            target = table.this.expressions[0] if table.this.expressions else table.this.this
            url = target.name if isinstance(target, exp.Literal) else str(target)
            table.replace(
                exp.Table(
                    this=exp.to_identifier(url, quoted=True),
                    db=exp.to_identifier("parquet"),
                    alias=table.args.get("alias"),
                )
            )
        elif table.db.lower() in ZONE_SCHEMAS:
            table.set("this", exp.to_identifier(view_name(table.db.lower(), table.name)))
            table.set("db", None)
    return tree.sql(dialect="spark")


def spark_pipeline_problems(pipeline: Pipeline) -> list[str]:
    """What `medalist validate` says of a pipeline with `engine: spark`, before any run: each
    model and rule Spark cannot run, with the construct and what to write instead."""
    problems: list[str] = []
    zones = pipeline.zones.model_dump().values() if pipeline.zones else []
    if any(str(place or "").startswith("s3://") for place in [pipeline.lake, *zones]):
        problems.append(
            "lake: a lake on S3 is not available on engine: spark yet (Spark's outputs are "
            "copied into the run's file on the driver's file system); use a local or shared "
            "folder as the lake, or engine: duckdb"
        )
    for name, dataset in pipeline.datasets.items():
        for i, rule in enumerate(dataset.rules):
            problems += [
                f"datasets.{name}.rules.{i}.check ({rule.name}): {p}"
                for p in spark_problems(rule.check)
            ]
    for name, model in pipeline.models.items():
        if model.run_in == "engine":
            problems += [f"models.{name}.sql: {p}" for p in spark_problems(model.sql)]
    return problems
