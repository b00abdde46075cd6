"""Contract features end to end, through real files and a real run: row rules by severity,
max_bad_rows, references and unique across files, CSV dialects, nested JSON."""

from __future__ import annotations

import gzip
import json

import pytest

from medalist.runlog import Status
from tests.conftest import HEADER, ORDERS_CONTRACT, read_table

ROWS = HEADER + "".join(
    f"{i},2026-11-24 09:00:00,{i % 3},{q},10.00,PAID\n"
    for i, q in enumerate([1, 2, 3, 20, 40, 1, 2, 3, 1, 2], start=1)
)


def orders(**contract) -> dict:
    return {"orders": {**ORDERS_CONTRACT, **contract}}


def test_warn_keeps_the_row_and_counts_it_quarantine_takes_it(make_project):
    rules = [
        {"name": "big_order", "check": "quantity < 10", "on_fail": "warn"},
        {"name": "huge_order", "check": "quantity < 30"},
    ]
    project = make_project(datasets=orders(rules=rules))
    project.land("orders/a.csv", ROWS)

    (run,) = project.run().runs

    assert run.status == Status.SUCCEEDED, run.error
    assert run.rule_counts == {"warn:big_order": 2, "huge_order": 1}
    assert (run.rows_silver, run.rows_quarantined) == (9, 1)
    (bad,) = project.parquet("quarantine/orders/*.parquet")
    assert bad["order_id"] == "5" and bad["_rules"] == ["huge_order"]
    assert bad["_reason"] == "breaks rule huge_order: quantity < 30"


def test_a_fail_rule_fails_the_file_naming_the_rule_and_first_row(make_project, destination):
    rules = [{"name": "no_bulk", "check": "quantity < 10", "on_fail": "fail"}]
    project = make_project(destination, datasets=orders(rules=rules))
    project.land("orders/a.csv", ROWS)

    (run,) = project.run().runs

    assert run.status == Status.FAILED and run.state == "Transform"
    assert run.error["rule"] == "no_bulk" and run.error["row"] == 4
    assert (
        "2 row(s) break rule no_bulk (quantity < 10), which fails the file"
        in (run.error["message"])
    )
    assert not list((project.root / "lake").glob("[sq]*/**/*.parquet"))


@pytest.mark.parametrize(
    ("ceiling", "outcome"),
    [("10%", Status.FAILED), ("20%", Status.SUCCEEDED), (1, Status.FAILED), (2, Status.SUCCEEDED)],
)
def test_max_bad_rows_as_a_share_and_as_a_count(make_project, ceiling, outcome):
    contract = {**ORDERS_CONTRACT, "max_bad_rows": ceiling}
    contract["columns"] = {**ORDERS_CONTRACT["columns"], "quantity": {"type": "integer", "max": 10}}
    project = make_project(datasets={"orders": contract})
    project.land("orders/a.csv", ROWS)  # 2 of its 10 rows break quantity:max

    (run,) = project.run().runs

    assert run.status == outcome, run.error


def test_max_bad_rows_message_lists_the_rules(make_project):
    contract = {**ORDERS_CONTRACT, "max_bad_rows": "10%"}
    contract["columns"] = {**ORDERS_CONTRACT["columns"], "quantity": {"type": "integer", "max": 10}}
    project = make_project(datasets={"orders": contract})
    project.land("orders/a.csv", ROWS)

    (run,) = project.run().runs

    assert run.status == Status.FAILED
    assert (
        "2 of 10 rows (20.0%) break the contract, more than max_bad_rows (10%); most "
        in (run.error["message"])
    )
    assert "quantity:max (2)" in run.error["message"]


def test_references_and_unique_look_at_what_silver_already_holds(make_project, destination):
    datasets = {
        "customers": {
            "source": "customers/*.csv",
            "primary_key": ["customer_id"],
            "columns": {
                "customer_id": {"type": "bigint", "required": True},
                "email": {"unique": True},
            },
        },
        **orders(),
    }
    datasets["orders"]["columns"] = {
        **ORDERS_CONTRACT["columns"],
        "customer_id": {"type": "bigint", "references": "customers.customer_id"},
    }
    project = make_project(destination, datasets=datasets, models={})
    project.land("customers/1.csv", "customer_id,email\n1,a@x\n2,b@x\n")
    project.land(
        "orders/1.csv",
        HEADER + "10,2026-11-24 09:00:00,1,1,1.00,PAID\n11,2026-11-24 09:00:00,3,1,1.00,PAID\n",
    )
    first = {r.dataset: r for r in project.run().runs}
    assert first["orders"].rule_counts == {"customer_id:references": 1}
    project.land("customers/2.csv", "customer_id,email\n3,a@x\n2,b@x\n")

    (second,) = project.run().runs

    assert second.rule_counts == {"email:unique": 1}  # 3 takes 1's email; 2 keeps its own
    assert [r[0] for r in read_table(destination, "silver.customers", "customer_id")] == [1, 2]


def test_csv_dialect_semicolons_decimal_commas_null_markers_and_skipped_lines(make_project):
    csv = {"delimiter": ";", "decimal_separator": ",", "null_values": ["", "NA"], "skip_rows": 2}
    project = make_project(datasets=orders(csv=csv))
    project.land(
        "orders/export.csv",
        "Shop export\nGenerated 2026-11-24\n"
        + HEADER.replace(",", ";")
        + "1;2026-11-24 09:00:00;NA;2;12,50;PAID\n2;2026-11-24 09:00:00;7;1;0,99;PAID\n",
    )

    (run,) = project.run().runs

    assert run.status == Status.SUCCEEDED, run.error
    rows = sorted(project.parquet("silver/orders/*.parquet"), key=lambda r: r["order_id"])
    assert [(r["customer_id"], str(r["unit_price"])) for r in rows] == [
        (None, "12.50"),
        (7, "0.99"),
    ]


def test_a_csv_without_header_matches_columns_by_position(make_project):
    project = make_project(datasets=orders(csv={"header": False}))
    project.land("orders/a.csv", "1,2026-11-24 09:00:00,7,2,10.00,PAID\n")

    (run,) = project.run().runs

    assert run.status == Status.SUCCEEDED and run.rows_silver == 1, run.error


def test_nested_json_is_flattened_unless_the_contract_names_the_object(make_project):
    contract = {
        "source": "events/*.jsonl",
        "columns": {"id": {"type": "bigint"}, "user__name": {}, "address": {}},
    }
    project = make_project(datasets={"events": contract}, models={})
    project.land(
        "events/a.jsonl",
        json.dumps({"id": 1, "user": {"name": "ann"}, "address": {"city": "Oslo"}}) + "\n",
    )

    (run,) = project.run().runs

    assert run.status == Status.SUCCEEDED, run.error
    (row,) = project.parquet("silver/events/*.parquet")
    assert row["user__name"] == "ann"
    assert json.loads(row["address"]) == {"city": "Oslo"}


def test_tsv_and_gzipped_json_lines_are_read_by_their_extension(make_project):
    contract = {"columns": {"id": {"type": "bigint", "required": True}, "name": {}}}
    datasets = {
        "people": {**contract, "source": "people/*.tsv"},
        "events": {**contract, "source": "events/*.jsonl.gz"},
    }
    project = make_project(datasets=datasets, models={})
    project.land("people/a.tsv", "id\tname\n1\tAnn, Lee\n2\tBo\n")
    project.land("events/a.jsonl.gz", gzip.compress(b'{"id": 3, "name": "x"}\n'))

    runs = {r.dataset: r for r in project.run().runs}

    assert {d: (r.status, r.rows_silver) for d, r in runs.items()} == {
        "people": (Status.SUCCEEDED, 2),
        "events": (Status.SUCCEEDED, 1),
    }
    names = [r["name"] for r in project.parquet("silver/people/*.parquet")]
    assert sorted(names) == ["Ann, Lee", "Bo"]
