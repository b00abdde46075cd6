"""Structured logs and Embedded Metric Format lines of the deployed handlers: every line is a
JSON object with the run id, state and dataset; metric lines are valid EMF (each metric and
dimension the header names is in the object, with a CloudWatch unit)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from medalist.aws_logs import annotate, log, logged, run_metrics, state_metrics
from medalist.runlog import RunRecord, Status

UNITS = {"Count", "Seconds", "Milliseconds", "Bytes", "None"}


def emf_metrics(line: dict[str, Any]) -> dict[str, float]:
    """The metrics an EMF object publishes, after checking it the way CloudWatch reads it."""
    header = line["_aws"]
    assert isinstance(header["Timestamp"], int) and header["Timestamp"] > 1_700_000_000_000
    found = {}
    for directive in header["CloudWatchMetrics"]:
        assert directive["Namespace"] == "medalist"
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            assert all(isinstance(line[d], str) and line[d] for d in dimension_set)
        for metric in directive["Metrics"]:
            assert metric["Unit"] in UNITS
            value = line[metric["Name"]]
            assert isinstance(value, int | float) and not isinstance(value, bool)
            found[metric["Name"]] = value
    return found


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _run(**fields: Any) -> RunRecord:
    now = datetime.now(UTC)
    base = dict(
        run_id="01JRUN", pipeline="shop", dataset="orders", file="orders/a.csv",
        file_hash="md5:x", file_bytes=10, started_at=now, status=Status.SUCCEEDED,
        rows_in=5, rows_silver=4, rows_quarantined=1, rows_loaded=6, duration_s=12.5,
    )  # fmt: skip
    return RunRecord(**(base | fields))


def test_every_printed_line_leaves_as_json_with_the_run_state_and_dataset(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with logged(run_id="01JRUN", state="Transform"):
        annotate(dataset="orders")
        print("a library's line\nand another")
        print("medalist: alert via email failed: refused", file=sys.stderr)
        log("Transform committed", rows=4)
    print("outside: left alone")
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "outside: left alone"
    parsed = [json.loads(line) for line in out[:-1]]
    assert [p["message"] for p in parsed] == [
        "a library's line",
        "and another",
        "medalist: alert via email failed: refused",
        "Transform committed",
    ]
    assert [p["level"] for p in parsed] == ["INFO", "INFO", "WARNING", "INFO"]
    for p in parsed:
        assert (p["run_id"], p["state"], p["dataset"]) == ("01JRUN", "Transform", "orders")
    assert parsed[-1]["rows"] == 4


def test_run_and_state_metrics_are_embedded_metric_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with logged(run_id="01JRUN", state="Finish", dataset="orders"):
        run_metrics(_run(status=Status.FAILED))
        state_metrics(_run(), "Load", 1.23456)
    run_line, state_line = lines(capsys.readouterr().out)
    assert emf_metrics(run_line) == {
        "RowsIn": 5, "RowsSilver": 4, "RowsQuarantined": 1, "RowsLoaded": 6,
        "RunSeconds": 12.5, "RunsFailed": 1,
    }  # fmt: skip
    assert run_line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["Pipeline"],
        ["Pipeline", "Dataset"],
    ]
    assert (run_line["run_id"], run_line["status"], run_line["Dataset"]) == (
        "01JRUN",
        "FAILED",
        "orders",
    )
    assert emf_metrics(state_line) == {"StateSeconds": 1.235}
    assert (state_line["State"], state_line["dataset"]) == ("Load", "orders")
