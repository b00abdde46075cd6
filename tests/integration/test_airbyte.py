"""Files in Airbyte's output shape land and run without hand work: its _airbyte_* columns do
not trip a strict contract, and its extraction time decides which version of a row wins."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from medalist.runlog import Status
from tests.conftest import Project, read_table
from tests.integration.lakes import LAKES, Lake

CONTRACT = {
    "source": "customers/*.jsonl",
    "preset": "airbyte",
    "primary_key": ["id"],
    "on_schema_drift": "fail",
    "columns": {"id": {"type": "bigint", "required": True}, "email": {"type": "varchar"}},
}


def record(id_: int, email: str, extracted_at: str, raw_id: str) -> str:
    return json.dumps(
        {
            "_airbyte_raw_id": raw_id,
            "_airbyte_extracted_at": extracted_at,
            "_airbyte_meta": {"changes": [], "sync_id": 7},
            "_airbyte_generation_id": 1,
            "id": id_,
            "email": email,
        }
    )


@pytest.mark.parametrize("kind", LAKES)
def test_airbyte_columns_pass_a_strict_contract_and_extraction_time_wins(
    make_lake: Callable[..., Lake], kind: str
) -> None:
    lake = make_lake(kind, datasets={"customers": CONTRACT}, models={})
    lines = [
        record(1, "new@example.com", "2026-11-24T10:00:00Z", "a"),  # extracted later, first
        record(1, "old@example.com", "2026-11-24T09:00:00Z", "b"),
        record(2, "two@example.com", "2026-11-24T09:30:00Z", "c"),
    ]
    lake.put("customers/sync-1.jsonl", "\n".join(lines) + "\n")
    (run,) = lake.run().runs
    assert run.status == Status.SUCCEEDED, run.error
    rows = {r["id"]: r for r in lake.silver("customers")}
    assert rows[1]["email"] == "new@example.com"  # not the file's last row: the latest extracted
    assert rows[1]["_airbyte_raw_id"] == "a" and rows[2]["_airbyte_generation_id"] == 1
    assert json.loads(rows[1]["_airbyte_meta"])["sync_id"] == 7


def test_without_the_preset_a_strict_contract_refuses_airbyte_columns(
    make_project: Callable[..., Project],
) -> None:
    contract = {k: v for k, v in CONTRACT.items() if k != "preset"}
    project = make_project(datasets={"customers": contract}, models={})
    project.land("customers/sync-1.jsonl", record(1, "a@example.com", "2026-11-24T10:00:00Z", "a"))
    (run,) = project.run().runs
    assert run.status == Status.FAILED and "_airbyte_raw_id" in run.error["message"]


def test_an_older_sync_landed_later_does_not_win_in_silver_or_the_destination(
    make_project: Callable[..., Project], destination: str
) -> None:
    """Syncs arrive out of order (a retried upload, a backfill): extraction time decides in
    the silver view, in the gold built over it, and in the destination's merge."""
    totals = {"sql": "SELECT id, email FROM silver.customers", "primary_key": ["id"]}
    project = make_project(destination, datasets={"customers": CONTRACT}, models={"emails": totals})
    newer = record(1, "new@example.com", "2026-11-25T10:00:00Z", "n")
    older = record(1, "old@example.com", "2026-11-24T10:00:00Z", "o")
    project.land("customers/sync-2.jsonl", newer + "\n")
    assert [r.status for r in project.run().runs] == [Status.SUCCEEDED]
    other = record(2, "b@x.org", "2026-11-24T10:00:00Z", "p")
    project.land("customers/sync-1.jsonl", older + "\n" + other + "\n")
    assert [r.status for r in project.run().runs] == [Status.SUCCEEDED]

    (first, _) = read_table(destination, "silver.customers", "id")
    assert "new@example.com" in first and "old@example.com" not in first
    assert read_table(destination, "gold.emails", "id") == [(1, "new@example.com"), (2, "b@x.org")]
