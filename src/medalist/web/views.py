"""What the pages and the API show, as plain data, cut to what the user's role may see:
quarantined rows are quarantine's; file names are hidden where responses leave (redact)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from medalist.access import User
from medalist.config import Pipeline
from medalist.metastore import now
from medalist.runlog import RunRecord, Status
from medalist.workflow.context import Ports
from medalist.workflow.definition import INGEST


def run_view(run: RunRecord, user: User) -> dict[str, Any]:
    """A run as the pages and the API show it. File names in it (and in its messages) are
    hidden from roles without landing where the response leaves (medalist.redact), not here."""
    data = run.model_dump(mode="json", exclude={"outputs", "lease_owner", "lease_expires_at"})
    crawl = run.outputs.get("Crawl", {})
    data["tables"] = run.outputs.get("Load", {}).get("tables", {})
    data["drift"] = crawl.get("drift")
    data["outcome"] = run.outcome  # WARN: SUCCEEDED with warnings
    known = [run.rows_loaded, run.rows_silver, run.rows_in]
    data["rows_so_far"] = next((n for n in known if n is not None), None)
    if not user.sees("landing"):
        data["file_hash"] = None  # a content hash tells whether two files are the same
    return data


def state_boxes(run: RunRecord) -> list[tuple[str, str, str]]:
    """(state, status, seconds) for the workflow drawing, like the Step Functions console."""
    boxes = []
    for state in INGEST.states:
        steps = [h for h in run.history if h.state == state.name]
        if state.name in run.outputs:
            status = "SUCCEEDED"
        elif run.status == Status.FAILED and run.state == state.name:
            status = "FAILED"
        elif run.status == Status.RUNNING and run.state == state.name:
            status = "RUNNING"
        else:
            status = "NOT RUN"
        took = ""
        if steps and status != "NOT RUN":
            took = f"{(steps[-1].at - steps[0].at).total_seconds():.2f}s"
        boxes.append((state.name, status, took))
    return boxes


def overview(pipeline: Pipeline, ports: Ports, days: int = 14) -> dict[str, Any]:
    today = now().date()
    labels = [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
    runs = ports.runlog.list(limit=20_000)
    by_day: dict[str, list[RunRecord]] = defaultdict(list)
    for run in runs:
        by_day[run.started_at.date().isoformat()].append(run)
    per_status = {
        s: [sum(r.status == s for r in by_day[d]) for d in labels]
        for s in ("SUCCEEDED", "FAILED", "RUNNING")
    }
    loaded = [sum(r.rows_loaded or 0 for r in by_day[d]) for d in labels]
    finished = [[r for r in by_day[d] if r.status != Status.RUNNING] for d in labels]
    failure = [
        round(100 * sum(r.status == Status.FAILED for r in f) / len(f), 1) if f else 0
        for f in finished
    ]
    median = [
        round(statistics.median(r.duration_s or 0 for r in f), 2) if f else 0 for f in finished
    ]
    all_done = [r for r in runs if r.status != Status.RUNNING]
    return {
        "labels": labels,
        "per_status": per_status,
        "loaded": loaded,
        "failure_rate": failure,
        "median_duration": median,
        "totals": {
            "runs": len(runs),
            "failed": sum(r.status == Status.FAILED for r in runs),
            "running": sum(r.status == Status.RUNNING for r in runs),
            "failure_rate": round(
                100 * sum(r.status == Status.FAILED for r in all_done) / len(all_done), 1
            )
            if all_done
            else 0,
            "median_duration": round(statistics.median(r.duration_s or 0 for r in all_done), 2)
            if all_done
            else 0,
        },
        "freshness": freshness(pipeline, runs),
    }


def freshness(pipeline: Pipeline, runs: list[RunRecord]) -> list[dict[str, Any]]:
    """Per dataset: the last successful run, its age, and whether it is stale."""
    rows = []
    for name in pipeline.datasets:
        ok = [r for r in runs if r.dataset == name and r.status == Status.SUCCEEDED]
        last = max(ok, key=lambda r: r.ended_at or r.started_at) if ok else None
        age_h = (
            ((now() - (last.ended_at or last.started_at)).total_seconds() / 3600) if last else None
        )
        rows.append(
            {
                "dataset": name,
                "last_run": last.run_id if last else None,
                "last_success": (last.ended_at or last.started_at).isoformat() if last else None,
                "age_hours": round(age_h, 1) if age_h is not None else None,
                "stale": age_h is None or age_h > pipeline.freshness_hours,
            }
        )
    return rows


def dataset_view(pipeline: Pipeline, ports: Ports, name: str) -> dict[str, Any]:
    spec = pipeline.datasets[name]
    runs = ports.runlog.list(dataset=name, limit=20_000)
    per_day: dict[date, list[RunRecord]] = defaultdict(list)
    for run in runs:
        if run.rows_in is not None:
            per_day[run.started_at.date()].append(run)
    days = sorted(per_day)
    return {
        "name": name,
        "source": spec.source,
        "primary_key": spec.primary_key,
        "load": str(spec.load_mode),
        "on_schema_drift": str(spec.on_schema_drift),
        "columns": {c: col.model_dump(exclude_none=True) for c, col in spec.columns.items()},
        "rules": [r.model_dump() for r in spec.rules],
        "versions": [
            {
                "version": v.version,
                "since": v.created_at.isoformat(),
                "columns": v.columns,
                "change": "first version" if v.version == 1 else v.diff.describe(),
            }
            for v in ports.catalog.versions(name)
        ],
        "days": [d.isoformat() for d in days],
        "rows_silver": [sum(r.rows_silver or 0 for r in per_day[d]) for d in days],
        "bad_rate": [
            round(
                100
                * sum(r.rows_quarantined or 0 for r in per_day[d])
                / max(sum(r.rows_in or 0 for r in per_day[d]), 1),
                2,
            )
            for d in days
        ],
    }
