"""The Catalog port's behaviour, written once and run against every adapter: the SQLite
metastore and the Glue Data Catalog (on the moto server)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console as RichConsole

from medalist import render
from medalist.aws import AwsTarget
from medalist.catalog import Catalog, SchemaDiff
from medalist.catalog.glue import GlueCatalog
from medalist.catalog.sqlite import SqliteCatalog
from medalist.storage.local import LocalStorage
from tests.aws.emulator import REGION, unique

V1 = {"order_id": "BIGINT", "amount": "DECIMAL(12,2)", "status": "VARCHAR"}
V2 = {"order_id": "BIGINT", "amount": "DECIMAL(18,2)", "channel": "VARCHAR"}


def _sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> Catalog:
    return SqliteCatalog(tmp_path / "lake")


def _glue(tmp_path: Path, request: pytest.FixtureRequest) -> Catalog:
    endpoint = request.getfixturevalue("aws_endpoint")
    # Schema versions never touch the lake: a local one serves for the table locations.
    return GlueCatalog(unique("shop"), AwsTarget(REGION, endpoint), LocalStorage(tmp_path / "lake"))


ADAPTERS: dict[str, Callable[[Path, pytest.FixtureRequest], Catalog]] = {
    "sqlite": _sqlite,
    "glue": _glue,
}


@pytest.fixture(params=list(ADAPTERS), ids=list(ADAPTERS))
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Catalog:
    return ADAPTERS[request.param](tmp_path, request)


def test_a_dataset_has_no_version_before_its_first_file(catalog: Catalog) -> None:
    assert catalog.latest("orders") is None
    assert catalog.versions("orders") == []


def test_the_first_file_registers_version_1_with_every_column_added(catalog: Catalog) -> None:
    first = catalog.register("orders", V1, "orders/a.csv", "R1")
    assert (first.version, first.columns, first.file) == (1, V1, "orders/a.csv")
    assert first.diff == SchemaDiff(added=V1)
    assert catalog.latest("orders") == first


def test_the_same_schema_again_is_no_new_version(catalog: Catalog) -> None:
    first = catalog.register("orders", V1, "orders/a.csv", "R1")
    again = catalog.register("orders", dict(V1), "orders/b.csv", "R2")
    assert again.version == 1 and again.file == "orders/a.csv"
    assert [v.version for v in catalog.versions("orders")] == [1]
    assert catalog.latest("orders") == first


def test_a_changed_schema_is_a_new_version_with_its_diff(catalog: Catalog) -> None:
    catalog.register("orders", V1, "orders/a.csv", "R1")
    second = catalog.register("orders", V2, "orders/b.csv", "R2")
    assert second.version == 2
    assert second.diff == SchemaDiff(
        added={"channel": "VARCHAR"},
        removed={"status": "VARCHAR"},
        retyped={"amount": ("DECIMAL(12,2)", "DECIMAL(18,2)")},
    )
    assert (
        second.diff.describe()
        == "+channel VARCHAR, -status VARCHAR, ~amount DECIMAL(12,2)→DECIMAL(18,2)"
    )


def test_versions_come_back_oldest_first_with_their_diffs(catalog: Catalog) -> None:
    catalog.register("orders", V1, "orders/a.csv", "R1")
    catalog.register("orders", V2, "orders/b.csv", "R2")
    catalog.register("orders", V2, "orders/c.csv", "R3")
    catalog.register("orders", V1, "orders/d.csv", "R4")  # back to the first schema
    versions = catalog.versions("orders")
    assert [(v.version, v.file, v.columns) for v in versions] == [
        (1, "orders/a.csv", V1),
        (2, "orders/b.csv", V2),
        (3, "orders/d.csv", V1),
    ]
    assert versions[2].diff == SchemaDiff.between(V2, V1)
    assert catalog.latest("orders") == versions[-1]
    assert [v.created_at for v in versions] == sorted(v.created_at for v in versions)


def test_column_order_is_kept(catalog: Catalog) -> None:
    columns = {"z": "VARCHAR", "a": "BIGINT", "m": "DATE"}
    catalog.register("orders", columns, "orders/a.csv", "R1")
    latest = catalog.latest("orders")
    assert latest is not None and list(latest.columns) == ["z", "a", "m"]


def test_datasets_keep_their_own_versions(catalog: Catalog) -> None:
    catalog.register("orders", V1, "orders/a.csv", "R1")
    catalog.register("customers", {"id": "BIGINT"}, "customers/a.csv", "R2")
    catalog.register("orders", V2, "orders/b.csv", "R3")
    assert [v.version for v in catalog.versions("orders")] == [1, 2]
    assert [v.columns for v in catalog.versions("customers")] == [{"id": "BIGINT"}]


def test_medalist_catalog_shows_them_the_same_way(catalog: Catalog) -> None:
    """`medalist catalog` renders what versions() returns: the same lines on every adapter."""
    catalog.register("orders", V1, "orders/a.csv", "R1")
    catalog.register("orders", V2, "orders/b.csv", "R2")
    console = RichConsole(width=250, record=True)
    console.print(render.catalog_table("orders", catalog.versions("orders")))
    lines = [
        re.sub(r"\d{4}-\d\d-\d\dT[\d:]+\+00:00", "SINCE", line).split()
        for line in console.export_text().splitlines()
    ]
    assert ["orders:", "2", "schema", "version(s)"] in lines
    assert any(line[:4] == ["│", "1", "│", "SINCE"] and "first" in line for line in lines)
    assert any(
        line[:5] == ["│", "2", "│", "SINCE", "│"] and "+channel" in line and "-status" in line
        for line in lines
    )
