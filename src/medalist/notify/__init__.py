"""The Notifier port (SNS in the AWS design): one message per run, on SUCCESS and on FAIL."""

from __future__ import annotations

from typing import Any, Protocol

from medalist.config import NotificationSpec, Pipeline
from medalist.plugins import load_adapter
from medalist.runlog import RunRecord, Status

GROUP = "medalist.notifiers"


class Notifier(Protocol):
    def send(self, message: dict[str, Any]) -> None:
        """Deliver one run message (see `run_message` for its fields)."""


def open_notifier(spec: NotificationSpec, pipeline: Pipeline) -> Notifier:
    """The adapter registered under the spec's `type`."""
    return load_adapter(GROUP, spec.type)(spec, pipeline)  # type: ignore[no-any-return]


def run_message(run: RunRecord) -> dict[str, Any]:
    """What every channel says about a finished run."""
    failed = run.status == Status.FAILED
    return {
        "event": "FAIL" if failed else "SUCCESS",
        "pipeline": run.pipeline,
        "run_id": run.run_id,
        "dataset": run.dataset,
        "file": run.file,
        "state": run.state,
        "reason": (run.error or {}).get("message") if failed else None,
        "rows_in": run.rows_in,
        "rows_silver": run.rows_silver,
        "rows_quarantined": run.rows_quarantined,
        "rows_loaded": run.rows_loaded,
        "duration_s": run.duration_s,
    }


def headline(message: dict[str, Any]) -> str:
    """One line: `FAIL orders 2026-11-24.csv at Transform: reason` or a SUCCESS summary."""
    name = f"{message['dataset']} {message['file']}"
    if message["event"] == "FAIL":
        return f"FAIL {name} at {message['state']}: {message['reason']}"
    return (
        f"SUCCESS {name}: {message['rows_in'] or 0} in, {message['rows_silver'] or 0} "
        f"silver, {message['rows_quarantined'] or 0} quarantined, "
        f"{message['rows_loaded'] or 0} loaded in {message['duration_s'] or 0:.2f}s"
    )
