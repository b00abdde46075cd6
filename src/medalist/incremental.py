"""Gold models that can take a run's new rows without reading history.

A model of the form `SELECT <keys>, <aggregates> FROM silver.<dataset> [WHERE …] GROUP BY …`,
whose aggregates are count, sum, min or max (not DISTINCT), decomposes: when a run only adds
rows to silver, its new version is the previous version merged with the same model run over the
run's rows alone (counts and sums add up; min and max take the min and the max). That is work
proportional to the new file, not to history. Every other model, and every run that changes or
removes rows already in silver, rebuilds the model whole.

Example: `SELECT day, count(*) AS orders FROM silver.sales GROUP BY ALL` merges as
`SELECT day, CAST(sum(orders) AS BIGINT) AS orders FROM (previous UNION ALL BY NAME new) GROUP BY
day`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from medalist.contracts.rules import ident

INCOMING = "incoming"  # schema of the views over a run's staged silver rows
_MERGE = {exp.Count: "sum", exp.Sum: "sum", exp.Min: "min", exp.Max: "max"}
_REFUSED = ("with_", "with", "joins", "having", "qualify", "order", "limit", "offset", "distinct")


@dataclass(frozen=True)
class Decomposable:
    """A model that merges: the dataset it reads, its group keys and how each aggregate merges
    (output column -> sum, min or max)."""

    dataset: str
    keys: tuple[str, ...]
    merges: Mapping[str, str]


def decomposable(sql: str) -> Decomposable | None:
    """The model's merge plan, or None when it must be rebuilt whole."""
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.ParseError:
        return None
    if not isinstance(tree, exp.Select) or any(tree.args.get(a) for a in _REFUSED):
        return None
    tables = list(tree.find_all(exp.Table))
    group = tree.args.get("group")
    if len(tables) != 1 or tables[0].db.lower() != "silver" or group is None:
        return None
    if tree.find(exp.Subquery, exp.Window):
        return None
    keys: list[str] = []
    merges: dict[str, str] = {}
    key_sql: set[str] = set()
    for item in tree.expressions:
        name = item.alias_or_name
        inner = item.this if isinstance(item, exp.Alias) else item
        if not name or isinstance(inner, exp.Star) or name in keys or name in merges:
            return None
        merge = _MERGE.get(type(inner))
        if merge is not None:
            if not isinstance(item, exp.Alias) or inner.find(exp.Distinct):
                return None
            argument = inner.this
            if isinstance(argument, exp.Expression) and argument.find(exp.AggFunc):
                return None
            merges[name] = merge
        elif item.find(exp.AggFunc):
            return None  # an aggregate inside an expression (sum(a) / count(*)): not additive
        else:
            keys.append(name)
            key_sql.add(inner.sql(dialect="duckdb"))
    if not merges or not keys or not _groups_by_keys(group, keys, key_sql):
        return None
    return Decomposable(tables[0].name.lower(), tuple(keys), merges)


def _groups_by_keys(group: exp.Group, keys: list[str], key_sql: set[str]) -> bool:
    """GROUP BY ALL, or a GROUP BY naming exactly the key columns (by alias, expression or
    position): any other grouping would make rows the merge cannot tell apart."""
    if group.args.get("all"):
        return True
    named: set[str] = set()
    for expr in group.expressions:
        if isinstance(expr, exp.Literal) and not expr.is_string:
            position = int(expr.this)
            if not 1 <= position <= len(keys):
                return False
            named.add(keys[position - 1])
        elif isinstance(expr, exp.Column) and not expr.table and expr.name in keys:
            named.add(expr.name)
        elif expr.sql(dialect="duckdb") in key_sql:
            named.add(expr.sql(dialect="duckdb"))
        else:
            return False
    return len(named) == len(keys)


def over_incoming(sql: str, dataset: str) -> str:
    """The model's SQL reading `incoming.<dataset>` (a run's rows) instead of silver."""
    tree = sqlglot.parse_one(sql, dialect="duckdb")
    for table in tree.find_all(exp.Table):
        if table.db.lower() == "silver" and table.name.lower() == dataset:
            table.set("db", exp.to_identifier(INCOMING))
    return tree.sql(dialect="duckdb")


def over_run_rows(sql: str, dataset: str, run_id: str) -> exp.Expr:
    """The model reading only one run's rows of silver.<dataset> (a subquery on _run_id, under
    the table's own name or alias), for a destination that holds silver as one table."""
    tree = sqlglot.parse_one(sql, dialect="duckdb")
    for table in list(tree.find_all(exp.Table)):
        if table.db.lower() == "silver" and table.name.lower() == dataset:
            rows = (
                exp.select("*")
                .from_(exp.table_(table.name, db="silver"))
                .where(exp.column("_run_id").eq(exp.Literal.string(run_id)))
            )
            table.replace(rows.subquery(table.alias_or_name))
    return tree


def merge_sql(plan: Decomposable, previous: str, incoming: str, types: Mapping[str, str]) -> str:
    """SELECT merging the previous version (a relation) with the model over the new rows,
    in the previous version's column order and types."""
    columns = []
    for name, kind in types.items():
        if name in plan.merges:
            columns.append(f"CAST({plan.merges[name]}({ident(name)}) AS {kind}) AS {ident(name)}")
        else:
            columns.append(ident(name))
    keys = ", ".join(ident(k) for k in plan.keys)
    return (
        f"SELECT {', '.join(columns)} FROM (SELECT * FROM {previous} UNION ALL BY NAME "
        f"SELECT * FROM ({incoming})) GROUP BY {keys}"
    )


def model_tag(sql: str, inputs: str) -> str:
    """What a gold version was built from (the model's SQL and its inputs' contracts): a version
    is merged into only when the tag still matches."""
    return hashlib.sha256(f"{sql}\n{inputs}".encode()).hexdigest()[:32]
