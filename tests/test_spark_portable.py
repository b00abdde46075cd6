"""`medalist validate` with `engine: spark` refuses, before any run, the user SQL Spark cannot
run: the model or rule, the construct, and what to write instead (never a Spark stack trace at
run time). What does translate runs on Spark's views of the zones."""

from __future__ import annotations

import pytest

from tests.conftest import DAILY_SALES, ORDERS_CONTRACT
from tests.test_validate import error_of, medalist

# one JVM for the whole session: these tests share one xdist worker
pytestmark = pytest.mark.xdist_group("spark")


def write(tmp_path, **config) -> str:
    import yaml

    path = tmp_path / "pipeline.yaml"
    base = {"name": "shop", "engine": "spark", "datasets": {"orders": ORDERS_CONTRACT}}
    path.write_text(yaml.safe_dump(base | config))
    return str(path)


def test_a_duckdb_only_construct_is_refused_naming_model_construct_and_fix(tmp_path):
    config = write(
        tmp_path,
        models={
            "daily_sales": DAILY_SALES,
            "lists": {
                "sql": "SELECT list_transform([quantity], lambda q: q + 1) AS l, "
                "* EXCLUDE (status) FROM silver.orders",
            },
        },
    )
    result = medalist("validate", "-c", config)
    said = error_of(result)
    assert result.exit_code == 2, said
    assert "models.lists.sql: a lambda has no Spark translation" in said
    assert "SELECT * EXCLUDE/REPLACE has no Spark translation; name the columns" in said
    assert "daily_sales" not in said  # portable SQL passes


def test_a_rule_with_a_duckdb_function_is_refused_a_unique_column_is_not(tmp_path):
    contract = {
        **ORDERS_CONTRACT,
        "columns": {**ORDERS_CONTRACT["columns"], "status": {"type": "varchar", "unique": True}},
        "rules": [{"name": "odd", "check": "list_contains([1, 3], quantity)"}],
    }
    result = medalist("validate", "-c", write(tmp_path, datasets={"orders": contract}))
    said = error_of(result)
    assert result.exit_code == 2, said
    assert "datasets.orders.rules.0.check (odd): a list literal" in said
    assert "unique" not in said  # unique and references run on Spark too


def test_the_same_pipeline_on_duckdb_validates(tmp_path):
    config = write(tmp_path, engine="duckdb", models={"daily_sales": DAILY_SALES})
    assert medalist("validate", "-c", config).exit_code == 0


def test_a_lake_on_s3_is_refused_before_any_run(tmp_path):
    config = write(tmp_path, lake="s3://bucket/lake", runlog="dynamodb://shop-runs")
    result = medalist("validate", "-c", config)
    said = error_of(result)
    assert result.exit_code == 2, said
    assert "lake: a lake on S3 is not available on engine: spark yet" in said
