"""Source databases for the extract tests: a throwaway PostgreSQL database and a throwaway
MariaDB database (127.0.0.1:3306, root, no password), each with an `orders` table."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pymysql
import pytest

MARIADB = dict(
    host=os.environ.get("MEDALIST_TEST_MARIADB_HOST", "127.0.0.1"),
    port=int(os.environ.get("MEDALIST_TEST_MARIADB_PORT", "3306")),
    user="root",
)
SOURCES = ["postgres", "mariadb"]

ORDERS_DDL = (
    "CREATE TABLE orders (order_id BIGINT PRIMARY KEY, order_ts TIMESTAMP NOT NULL, "
    "customer_id BIGINT, quantity INTEGER, unit_price NUMERIC(12,2), status VARCHAR(20), "
    "updated_at TIMESTAMP NULL)"
)


def _mariadb(database: str | None = None) -> pymysql.connections.Connection:
    try:
        return pymysql.connect(**MARIADB, database=database, autocommit=True, connect_timeout=5)
    except pymysql.err.OperationalError as exc:
        pytest.fail(
            f"MariaDB is required and not reachable at {MARIADB['host']}:{MARIADB['port']}: "
            f"{exc}\nStart it (service mariadb start).",
            pytrace=False,
        )


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A throwaway MariaDB database for one test, dropped afterwards."""
    name = f"medalist_test_{uuid.uuid4().hex[:12]}"
    with _mariadb() as con, con.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    yield f"mysql://root@{MARIADB['host']}:{MARIADB['port']}/{name}"
    with _mariadb() as con, con.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


class SourceDb:
    """Statements against a source database, PostgreSQL or MariaDB alike."""

    def __init__(self, url: str) -> None:
        self.url = url

    def execute(self, sql: str, rows: list[tuple[Any, ...]] | None = None) -> None:
        if self.url.startswith("postgresql"):
            with psycopg.connect(self.url, autocommit=True) as con, con.cursor() as cur:
                if rows is None:
                    cur.execute(sql)
                else:
                    cur.executemany(sql, rows)
            return
        database = self.url.rsplit("/", 1)[1]
        with _mariadb(database) as con, con.cursor() as cur:
            if rows is None:
                cur.execute(sql)
            else:
                cur.executemany(sql, rows)

    def insert_orders(self, rows: list[tuple[Any, ...]]) -> None:
        self.execute(
            "INSERT INTO orders VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


@pytest.fixture(params=SOURCES, ids=SOURCES)
def source_db(request: pytest.FixtureRequest) -> SourceDb:
    """An empty `orders` table in PostgreSQL, then in MariaDB."""
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "mariadb_url")
    db = SourceDb(url)
    db.execute(ORDERS_DDL)
    return db


MakeSource = Callable[[str], SourceDb]
