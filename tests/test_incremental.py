"""Incremental gold: a model that decomposes takes a run's new rows without reading history, and
its version is always the one a rebuild from all of silver would give."""

from __future__ import annotations

import duckdb
import pytest

from medalist.incremental import decomposable
from tests.conftest import HEADER

MODELS = {
    # decomposes: count, sum, min, max by a key expression, with a filter
    "daily": {
        "sql": "SELECT CAST(order_ts AS DATE) AS day, count(*) AS orders, "
        "sum(quantity * unit_price) AS revenue, min(unit_price) AS cheapest, "
        "max(order_ts) AS last_at FROM silver.orders WHERE status = 'PAID' GROUP BY 1",
        "primary_key": ["day"],
    },
    "by_status": {
        "sql": "SELECT status, count(customer_id) AS customers FROM silver.orders GROUP BY ALL",
        "primary_key": ["status"],
    },
    # does not: an average is no sum of averages
    "average": {
        "sql": "SELECT status, avg(unit_price) AS mean FROM silver.orders GROUP BY status",
        "primary_key": ["status"],
    },
}


def _rows(first: int, count: int, day: int, price: str | None = None) -> str:
    return "".join(
        f"{i},2026-03-{day:02d}T{i % 24:02d}:00:00,{i % 7 or ''},{1 + i % 3},"
        f"{price or f'{1 + i * 7 % 13}.25'},"
        f"{'PAID' if i % 5 else 'REFUNDED'}\n"
        for i in range(first, first + count)
    )


def _rebuilt(project, sql: str) -> list[tuple]:
    """The model run over all of silver, as a full rebuild would."""
    files = sorted((project.root / "lake" / "silver" / "orders").glob("*.parquet"))
    paths = ", ".join(f"'{f}'" for f in files)
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA silver")
        con.execute(
            f"CREATE VIEW silver.orders AS SELECT * FROM read_parquet([{paths}]) QUALIFY "
            "row_number() OVER (PARTITION BY order_id ORDER BY _run_id DESC, "
            "_source_row DESC) = 1"
        )
        return sorted(con.execute(sql).fetchall(), key=repr)


def test_gold_merges_new_rows_and_always_equals_a_rebuild(make_project):
    project = make_project(models=MODELS)
    days = [
        ("day-1.csv", _rows(1, 40, 1)),
        ("day-2.csv", _rows(41, 40, 2)),  # new keys only: merged
        ("day-3.csv", _rows(81, 40, 2, price="0.75")),  # new keys, same day: groups add up
        ("day-4.csv", _rows(10, 5, 3, price="9.00")),  # corrections: rebuilt
        ("day-5.csv", HEADER),  # no rows at all: merged, nothing changes
    ]
    merged = []
    for name, body in days:
        project.land(f"orders/{name}", body if body.startswith("order_id") else HEADER + body)
        (run,) = project.run().runs
        assert run.status == "SUCCEEDED", run.error
        merged.append(sorted(run.outputs["Transform"]["gold_merged"]))
        for model, spec in MODELS.items():
            built = project.parquet(f"gold/{model}/{run.run_id}.parquet")
            assert sorted((tuple(r.values()) for r in built), key=repr) == _rebuilt(
                project, spec["sql"]
            ), f"{model} after {name}"
    assert merged == [
        [],  # nothing to merge into yet
        ["by_status", "daily"],
        ["by_status", "daily"],
        [],  # changed rows: latest-wins may move rows between groups
        ["by_status", "daily"],
    ]


def test_a_changed_model_is_rebuilt_not_merged(make_project):
    project = make_project(models={"daily": MODELS["daily"]})
    project.land("orders/day-1.csv", HEADER + _rows(1, 10, 1))
    project.run()
    changed = {**MODELS["daily"], "sql": MODELS["daily"]["sql"].replace("'PAID'", "'REFUNDED'")}
    project = make_project(models={"daily": changed})
    project.land("orders/day-2.csv", HEADER + _rows(11, 10, 2))
    (run,) = project.run().runs
    assert run.outputs["Transform"]["gold_merged"] == []
    built = project.parquet(f"gold/daily/{run.run_id}.parquet")
    assert sorted((tuple(r.values()) for r in built), key=repr) == _rebuilt(project, changed["sql"])


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a, count(*) AS n FROM silver.s GROUP BY ALL",
        "SELECT a, b, sum(x) AS total, max(y) AS top FROM silver.s WHERE x > 0 GROUP BY a, b",
        "SELECT lower(a) AS k, min(x) AS low FROM silver.s GROUP BY lower(a)",
        "SELECT a AS k, count(x) AS n FROM silver.s GROUP BY 1",
    ],
)
def test_models_that_decompose(sql):
    assert decomposable(sql) is not None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a, avg(x) AS m FROM silver.s GROUP BY a",  # not additive
        "SELECT a, count(DISTINCT x) AS n FROM silver.s GROUP BY a",  # not additive
        "SELECT a, sum(x) / count(*) AS m FROM silver.s GROUP BY a",  # aggregate in an expression
        "SELECT a, count(*) AS n FROM silver.s GROUP BY a, b",  # groups the output cannot tell
        "SELECT a, count(*) AS n FROM silver.s GROUP BY a HAVING count(*) > 1",
        "SELECT a, count(*) AS n FROM silver.s JOIN silver.t USING (a) GROUP BY a",
        "SELECT a, count(*) AS n FROM gold.g GROUP BY a",  # reads a gold model
        "SELECT count(*) AS n FROM silver.s",  # no key: nothing to merge by
        "SELECT a, count(*) AS n FROM silver.s GROUP BY a ORDER BY n LIMIT 3",
        "SELECT a, x FROM silver.s",  # no aggregate
        "SELECT a, count(*) FROM silver.s GROUP BY a",  # an aggregate needs a name
        "SELECT a, sum(x) OVER () AS s FROM silver.s GROUP BY a",
    ],
)
def test_models_rebuilt_whole(sql):
    assert decomposable(sql) is None
