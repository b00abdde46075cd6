"""Structured logs and metrics of the deployed handlers (decision 0036).

Inside `logged(run_id=…, state=…, dataset=…)` every line written to stdout or stderr, by
medalist or a library, leaves as one JSON object carrying those fields, so CloudWatch Logs
Insights can filter a run, a state or a dataset. Metrics leave as CloudWatch Embedded Metric
Format lines (one JSON object with an `_aws` header), which Lambda turns into CloudWatch
metrics without an API call.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

from medalist.runlog import RunRecord

NAMESPACE = "medalist"
_CONTEXT: ContextVar[Mapping[str, str]] = ContextVar(
    "medalist_log_context", default=MappingProxyType({})
)
_SINK: ContextVar[TextIO | None] = ContextVar("medalist_log_sink", default=None)


def _sink() -> TextIO:
    return _SINK.get() or sys.stdout


def _line(record: Mapping[str, Any]) -> None:
    sink = _sink()
    sink.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sink.flush()


def log(message: str, level: str = "INFO", **fields: Any) -> None:
    """One structured line: time, level, message, the context's fields, then `fields`."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    _line({"time": now, "level": level, "message": message, **_CONTEXT.get(), **fields})


def annotate(**fields: str | None) -> None:
    """Add fields to every later line of the current context (e.g. the dataset, once read)."""
    _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}})


@contextmanager
def logged(**fields: str | None) -> Iterator[None]:
    """Within: the fields on every line, and whatever is printed turned into such lines."""
    context = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v}})
    sink_token = _SINK.set(_sink())  # the real stdout: lines never loop through _Lines
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Lines("INFO"), _Lines("WARNING")
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved
        _SINK.reset(sink_token)
        _CONTEXT.reset(context)


class _Lines(io.TextIOBase):
    """A stream whose every complete line becomes one structured log line."""

    def __init__(self, level: str) -> None:
        self.level, self.pending = level, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            if line.strip():
                log(line.rstrip(), self.level)
        return len(text)

    def flush(self) -> None:
        if self.pending.strip():
            log(self.pending.rstrip(), self.level)
        self.pending = ""


def metrics(
    dimensions: Mapping[str, str],
    values: Mapping[str, tuple[float, str]],
    dimension_sets: list[list[str]] | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """An Embedded Metric Format object: `values` name -> (value, unit), published under each
    of `dimension_sets` (default: all of `dimensions` together)."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": dimension_sets or [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in values.items()],
                }
            ],
        },
        **dimensions,
        **{name: value for name, (value, _) in values.items()},
        **_CONTEXT.get(),
        **properties,
    }


def run_metrics(run: RunRecord) -> None:
    """A finished run's rows and duration, by pipeline and by pipeline and dataset."""
    values = {
        "RowsIn": (run.rows_in or 0, "Count"),
        "RowsSilver": (run.rows_silver or 0, "Count"),
        "RowsQuarantined": (run.rows_quarantined or 0, "Count"),
        "RowsLoaded": (run.rows_loaded or 0, "Count"),
        "RunSeconds": (run.duration_s or 0.0, "Seconds"),
        "RunsFailed": (1 if run.status.value == "FAILED" else 0, "Count"),
    }
    dims = {"Pipeline": run.pipeline, "Dataset": run.dataset}
    sets = [["Pipeline"], ["Pipeline", "Dataset"]]
    _line(metrics(dims, values, sets, run_id=run.run_id, status=run.status.value))


def state_metrics(run: RunRecord, state: str, seconds: float) -> None:
    """One state's duration, by pipeline and state."""
    dims = {"Pipeline": run.pipeline, "State": state}
    values = {"StateSeconds": (round(seconds, 3), "Seconds")}
    _line(metrics(dims, values, run_id=run.run_id, dataset=run.dataset))
