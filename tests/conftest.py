"""Shared fixtures: real PostgreSQL (never skipped), a project factory, destination configs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import yaml

from medalist.config import Pipeline
from medalist.controller import Outcome, run_pipeline
from medalist.loader import load_pipeline
from medalist.wiring import local_ports

SERVER_URL = os.environ.get(
    "MEDALIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

ORDERS_CONTRACT: dict[str, Any] = {
    "source": "orders/*.csv",
    "primary_key": ["order_id"],
    "columns": {
        "order_id": {"type": "bigint", "required": True},
        "order_ts": {"type": "timestamp", "required": True},
        "customer_id": {"type": "bigint"},
        "quantity": {"type": "integer", "min": 1},
        "unit_price": {"type": "decimal(12,2)", "min": 0},
        "status": {"type": "varchar", "accepted": ["PAID", "REFUNDED", "CANCELLED"]},
    },
}
DAILY_SALES = {
    "sql": "SELECT CAST(order_ts AS DATE) AS day, count(*) AS orders, "
    "sum(quantity * unit_price) AS revenue FROM silver.orders GROUP BY 1",
    "primary_key": ["day"],
}
HEADER = "order_id,order_ts,customer_id,quantity,unit_price,status\n"


def _server() -> psycopg.Connection:
    try:
        return psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required and not reachable at {SERVER_URL}: {exc}\n"
            "Start it (pg_ctlcluster <version> main start) or set MEDALIST_TEST_POSTGRES_URL.",
            pytrace=False,
        )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway database for one test, dropped afterwards."""
    name = f"medalist_test_{uuid.uuid4().hex[:12]}"
    with _server() as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = SERVER_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with _server() as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# One list of destinations feeds every load test (ids name them in test output).
DESTINATIONS = ["duckdb", "postgres"]


@pytest.fixture(params=DESTINATIONS, ids=DESTINATIONS)
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


def read_table(url: str, table: str, order_by: str) -> list[tuple[Any, ...]]:
    """All rows of a destination table, in a stable order."""
    sql = f"SELECT * FROM {table} ORDER BY {order_by}"
    if url.startswith("duckdb"):
        with duckdb.connect(url.removeprefix("duckdb:///"), read_only=True) as con:
            return con.execute(sql).fetchall()
    with psycopg.connect(url) as con:
        return con.execute(sql).fetchall()


def execute(url: str, sql: str) -> None:
    """Run one statement against a destination, as a user with a SQL client would."""
    if url.startswith("duckdb"):
        with duckdb.connect(url.removeprefix("duckdb:///")) as con:
            con.execute(sql)
        return
    with psycopg.connect(url) as con:
        con.execute(sql)


class Project:
    """A pipeline folder under tmp_path: write config and landed files, then run it."""

    def __init__(self, root: Path, config: dict[str, Any]) -> None:
        self.root = root
        self.config_path = root / "pipeline.yaml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.landing = root / "lake" / "landing"

    @property
    def pipeline(self) -> Pipeline:
        return load_pipeline(self.config_path)

    def land(self, path: str, content: str | bytes) -> Path:
        target = self.landing / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content)
        else:
            target.write_bytes(content)
        return target

    def run(self) -> Outcome:
        pipeline = self.pipeline
        return run_pipeline(pipeline, local_ports(pipeline))

    def parquet(self, pattern: str) -> list[dict[str, Any]]:
        """Rows (as dicts) of lake Parquet files matching a glob relative to the lake."""
        files = sorted((self.root / "lake").glob(pattern))
        if not files:
            return []
        paths = ", ".join(f"'{f}'" for f in files)
        with duckdb.connect() as con:
            table = con.sql(f"SELECT * FROM read_parquet([{paths}])").to_arrow_table()
        return sorted(table.to_pylist(), key=repr)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    def make(destination: str | None = None, **overrides: Any) -> Project:
        config: dict[str, Any] = {
            "name": "shop",
            "datasets": {"orders": ORDERS_CONTRACT},
            "models": {"daily_sales": DAILY_SALES},
            "notifications": [{"type": "file"}],
        }
        if destination:
            config["destination"] = destination
        config.update(overrides)
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        return Project(root, config)

    return make


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """One moto server for the whole test session (start-up paid once): tests/aws/emulator.py."""
    from tests.aws.emulator import moto_server, use_fake_credentials

    use_fake_credentials()
    with moto_server() as url:
        yield url


@pytest.fixture
def make_lake(make_project: Callable[..., Any], request: pytest.FixtureRequest) -> Any:
    """make_lake(kind, **config): a project on a local lake, or on a fresh lake on the local S3
    endpoint (tests/integration/lakes.py), written and read through the Storage port alike."""
    from tests.integration.lakes import Lake

    def make(kind: str, **overrides: Any) -> Lake:
        if kind == "s3":
            from tests.aws.lake import s3_lake_config

            endpoint = request.getfixturevalue("aws_endpoint")
            overrides = {**s3_lake_config(endpoint, "prefix"), **overrides}
        return Lake(kind, make_project(**overrides))

    return make


@pytest.fixture
def s3_lake(make_lake: Callable[..., Any]) -> Any:
    """The default project (dataset orders) on a fresh lake on the local S3 endpoint."""
    return make_lake("s3")
