"""pipeline.yaml errors name the file, the key path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medalist.config import LoadMode, resolve_config_path
from medalist.errors import ConfigError
from medalist.loader import load_pipeline
from tests.conftest import DAILY_SALES, ORDERS_CONTRACT


def _write(tmp_path: Path, **config) -> Path:
    base = {"name": "shop", "datasets": {"orders": ORDERS_CONTRACT}}
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({**base, **config}))
    return path


def _orders(**changes) -> dict:
    return {"orders": {**ORDERS_CONTRACT, **changes}}


BAD = [
    (
        "typo_top_level",
        {"notifcations": []},
        "notifcations: unknown key. Did you mean 'notifications'?",
    ),
    (
        "typo_in_dataset",
        {"datasets": {"orders": {**ORDERS_CONTRACT, "primary_kye": ["x"]}}},
        "datasets.orders.primary_kye: unknown key. Did you mean 'primary_key'?",
    ),
    (
        "typo_in_column",
        {"datasets": _orders(columns={"a": {"type": "bigint", "requird": True}})},
        "datasets.orders.columns.a.requird: unknown key. Did you mean 'required'?",
    ),
    (
        "bad_type",
        {"datasets": _orders(columns={"a": {"type": "int"}})},
        "datasets.orders.columns.a.type: unknown type 'int'. Use one of boolean, integer",
    ),
    (
        "bad_decimal",
        {"datasets": _orders(columns={"a": {"type": "decimal(2,5)"}})},
        "decimal(2,5) needs 1 <= p <= 38 and s <= p",
    ),
    (
        "bad_load_mode",
        {"datasets": _orders(load="upsert")},
        "datasets.orders.load: Input should be 'merge', 'append', 'replace' or 'none'",
    ),
    (
        "key_not_a_column",
        {"datasets": _orders(primary_key=["id"])},
        "datasets.orders.primary_key: 'id' is not one of the columns",
    ),
    (
        "bad_sql",
        {"models": {"m": {"sql": "SELEC 1 FROM silver.orders"}}},
        "models.m.sql: not valid SQL",
    ),
    (
        "unknown_table",
        {"models": {"m": {"sql": "SELECT * FROM silver.ordres"}}},
        "models.m.sql: reads silver.ordres, which is not defined. Known tables: silver.orders",
    ),
    (
        "table_without_zone",
        {"models": {"m": {"sql": "SELECT * FROM orders"}}},
        "write silver.orders or gold.orders",
    ),
    (
        "model_cycle",
        {"models": {"a": {"sql": "SELECT * FROM gold.b"}, "b": {"sql": "SELECT * FROM gold.a"}}},
        "in a cycle",
    ),
    (
        "append_model",
        {"models": {"m": {**DAILY_SALES, "load": "append"}}},
        "models.m.load: models are rebuilt whole",
    ),
    ("missing_name", {"name": None}, "name: Input should be a valid string"),
    ("unknown_channel", {"notifications": [{"type": "pager"}]}, "notifications.0"),
]


@pytest.mark.parametrize(("config", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_config_errors_name_the_key_and_the_fix(tmp_path, config, message):
    path = _write(tmp_path, **config)
    with pytest.raises(ConfigError) as info:
        load_pipeline(path)
    assert message in str(info.value)
    assert str(info.value).startswith(str(path))
    assert info.value.exit_code == 2


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(ConfigError, match="medalist init NAME"):
        load_pipeline(tmp_path / "nope.yaml")


def test_env_references_are_expanded_and_a_missing_one_is_an_error(tmp_path, monkeypatch):
    path = _write(tmp_path, destination="postgresql://u:${PG_PASSWORD}@h/db")
    with pytest.raises(ConfigError, match=r"\$\{PG_PASSWORD\}, which is not set"):
        load_pipeline(path)
    monkeypatch.setenv("PG_PASSWORD", "s3cret")
    assert load_pipeline(path).destination_url == "postgresql://u:s3cret@h/db"


def test_relative_paths_are_relative_to_the_config_file_and_defaults_apply(tmp_path):
    pipeline = load_pipeline(_write(tmp_path / "", lake="data/lake"))
    assert pipeline.lake_path == tmp_path / "data" / "lake"
    assert pipeline.destination_url == f"duckdb:///{tmp_path}/data/lake/warehouse.duckdb"
    assert pipeline.datasets["orders"].load_mode == LoadMode.merge
    assert [n.type for n in pipeline.notifications] == ["console"]


def test_config_path_comes_from_flag_then_env_then_cwd(monkeypatch):
    monkeypatch.delenv("MEDALIST_CONFIG", raising=False)
    assert resolve_config_path(None) == Path("pipeline.yaml")
    monkeypatch.setenv("MEDALIST_CONFIG", "/etc/p.yaml")
    assert resolve_config_path(None) == Path("/etc/p.yaml")
    assert resolve_config_path("x.yaml") == Path("x.yaml")
