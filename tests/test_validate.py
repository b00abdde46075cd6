"""`medalist validate` catches what it can know before a run: rule values of the wrong type,
model SQL naming columns nothing has, types other systems spell differently."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from medalist.cli import app

runner = CliRunner()


def medalist(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def shop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert medalist("init", "shop").exit_code == 0
    return tmp_path / "shop" / "pipeline.yaml"


def edit(config, old: str, new: str) -> str:
    text = config.read_text()
    assert old in text, old
    config.write_text(text.replace(old, new, 1))
    return str(config)


def error_of(result) -> str:
    return " ".join(result.output.split())


def test_a_rule_value_the_column_type_cannot_hold_is_a_config_error(shop):
    config = edit(shop, "{type: integer, min: 1}", "{type: integer, min: one}")
    result = medalist("validate", "-c", config)
    assert result.exit_code == 2
    assert (
        "datasets.orders.columns.quantity.min: 'one' is not an integer, and the column is "
        "integer" in error_of(result)
    )
    assert "e.g. `min: 1`" in error_of(result)
    # The run refuses before claiming anything: no run, the file stays new.
    assert medalist("run", "-c", config).exit_code == 2
    assert not (shop.parent / "lake" / "_medalist" / "metastore.sqlite").exists()


def test_accepted_values_are_checked_against_the_type_too(shop):
    config = edit(shop, "{type: bigint}", "{type: bigint, accepted: [7, seven]}")
    result = medalist("validate", "-c", config)
    assert result.exit_code == 2
    assert "customer_id.accepted: 'seven' is not an integer" in error_of(result)


@pytest.mark.parametrize(
    ("column", "rule"),
    [
        ("order_ts:    {type: timestamp, required: true}", "{type: date, min: 2026-01-01}"),
        ("order_ts:    {type: timestamp, required: true}", "{type: timestamp, max: 2030-12-31}"),
        ('{type: "decimal(12,2)", min: 0}', '{type: "decimal(12,2)", min: "0.50"}'),
        (
            "order_ts:    {type: timestamp, required: true}",
            "{type: date, accepted: [2026-11-24, 2026-11-25]}",
        ),
    ],
    ids=[
        "yaml-date-on-date",
        "yaml-date-on-timestamp",
        "quoted-number-on-decimal",
        "yaml-dates-accepted",
    ],
)
def test_rule_values_the_type_holds_pass(shop, column, rule):
    old = column if column.startswith("{") else column.split(":", 1)[1].strip()
    config = edit(shop, old, rule)
    result = medalist("validate", "-c", config)
    assert result.exit_code == 0, result.output


def test_model_sql_naming_an_unknown_column_fails_validate_with_did_you_mean(shop):
    config = edit(shop, "sum(quantity * unit_price)", "sum(quantty * unit_price)")
    result = medalist("validate", "-c", config)
    assert result.exit_code == 2
    assert (
        'models.daily_sales.sql: column "quantty" not found in FROM clause. '
        'Did you mean "quantity"?' in error_of(result)
    )


def test_models_bind_over_earlier_models_outputs(shop):
    config = edit(
        shop,
        "\nnotifications:",
        "  best_day:\n"
        "    sql: SELECT day, revenue FROM gold.daily_sales ORDER BY revenue DESC LIMIT 1\n"
        "  bad_day:\n"
        "    sql: SELECT day, revenu FROM gold.daily_sales\n"
        "\nnotifications:",
    )
    result = medalist("validate", "-c", config)
    assert result.exit_code == 2, result.output
    assert 'models.bad_day.sql: column "revenu" not found' in error_of(result)
    assert 'Did you mean "revenue"?' in error_of(result)
    assert "best_day" not in error_of(result)


def test_lineage_columns_and_functions_bind(shop):
    config = edit(
        shop,
        "SELECT CAST(order_ts AS DATE) AS day,",
        "SELECT CAST(order_ts AS DATE) AS day, max(_ingested_at) AS latest, "
        "count(DISTINCT _run_id) AS runs,",
    )
    assert medalist("validate", "-c", config).exit_code == 0


def test_an_unknown_function_is_named_with_duckdbs_suggestion(shop):
    config = edit(shop, "count(*) AS orders", "cuont(*) AS orders")
    result = medalist("validate", "-c", config)
    assert result.exit_code == 2
    assert "models.daily_sales.sql:" in error_of(result)
    assert "cuont" in error_of(result) and "count" in error_of(result)


def test_models_over_evolving_datasets_are_not_bound(shop):
    """Columns an evolving dataset gains arrive with files: validate cannot know them."""
    config = edit(
        shop,
        "    primary_key: [order_id]\n",
        "    primary_key: [order_id]\n    on_schema_drift: evolve\n",
    )
    config = edit(shop, "sum(quantity * unit_price)", "sum(coupon_value)")
    assert medalist("validate", "-c", config).exit_code == 0


def test_datetime_suggests_timestamp(shop):
    config = edit(shop, "order_ts:    {type: timestamp", "order_ts:    {type: datetime")
    result = medalist("validate", "-c", config)
    assert result.exit_code == 2
    assert "Did you mean 'timestamp'?" in error_of(result)


@pytest.mark.parametrize("status", ["failed", "FAILED", "Failed"], ids=["lower", "upper", "title"])
def test_runs_status_filter_takes_any_case(shop, status):
    (shop.parent / "lake/landing/orders/bad.csv").write_bytes(b"\xff\xfe\x00garbage")
    assert medalist("run", "-c", str(shop)).exit_code == 1
    result = medalist("runs", "-c", str(shop), "--status", status)
    assert result.exit_code == 0, result.output
    assert "orders/bad.csv" in result.output
    assert "sample-2026-11-24.csv" not in result.output
