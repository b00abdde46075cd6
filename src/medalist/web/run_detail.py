"""What the run page shows beyond the record: the quarantined rows a page at a time, the
schema drift as a table, and the run's log (its history of transitions) state by state."""

from __future__ import annotations

from typing import Any

from medalist.config import Pipeline
from medalist.runlog import RunRecord, Status
from medalist.wiring import quarantine_rows
from medalist.workflow.context import Ports
from medalist.workflow.definition import INGEST


def quarantine_page(
    pipeline: Pipeline, ports: Ports, run: RunRecord, page: int, per: int
) -> tuple[list[str], list[tuple[Any, ...]], int]:
    """(columns, one page of the run's quarantined rows by source row, how many there are);
    the caller checked the role."""
    path = run.outputs.get("Transform", {}).get("quarantine_path")
    if not path:
        return [], [], 0
    return quarantine_rows(pipeline, ports.storage.url("quarantine", path), page, per)


def drift_table(pipeline: Pipeline, run: RunRecord) -> list[dict[str, str]]:
    """One row per column the file brought, lacked or retyped, against the contract."""
    crawl = run.outputs.get("Crawl", {})
    text = crawl.get("drift")
    if not text:
        return []
    spec = pipeline.datasets.get(run.dataset)
    contract = {c: col.type for c, col in spec.columns.items()} if spec else {}
    found: dict[str, str] = crawl.get("columns", {})
    rows = []
    for part in str(text).split(", "):
        sign, rest = part[:1], part[1:]
        name, _, kind = rest.partition(" ")
        if sign == "+":
            rows.append(_row(name, "added: not in the contract", "", kind or found.get(name, "")))
        elif sign == "-":
            rows.append(_row(name, "missing from the file", contract.get(name, ""), ""))
        elif sign == "~":
            old, _, new = kind.partition(" → ")
            rows.append(_row(name, "type changed", old, new))
    return rows


def _row(column: str, change: str, before: str, now: str) -> dict[str, str]:
    return {"column": column, "change": change, "contract": before, "file": now}


def state_log(run: RunRecord) -> list[dict[str, Any]]:
    """Per state the run went through, in the workflow's order: its status, time taken,
    attempts, and its lines of the run's history (when, what, attempt, detail)."""
    log = []
    order = [s.name for s in INGEST.states]
    order += [h.state for h in run.history if h.state not in order]  # an extract's, say
    for name in dict.fromkeys(order):
        lines = [h for h in run.history if h.state == name]
        if not lines:
            continue
        last = lines[-1]
        status = str(last.status)
        if last.status == Status.RUNNING and run.status != Status.RUNNING:
            status = "INTERRUPTED"
        log.append(
            {
                "state": name,
                "status": status,
                "seconds": (last.at - lines[0].at).total_seconds(),
                "attempts": max(h.attempt for h in lines),
                "lines": [
                    {"at": h.at, "status": str(h.status), "attempt": h.attempt, "detail": h.detail}
                    for h in lines
                ],
            }
        )
    return log
