"""The overview's "needs attention" panel: medalist.attention's list (FAILED runs waiting for
a retry, stale datasets, files no dataset reads), recent WARN runs, and alerts the outbox has
not delivered yet."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from medalist.access import User
from medalist.attention import needs_attention
from medalist.config import Pipeline
from medalist.metastore import now
from medalist.runlog import Status
from medalist.workflow.context import Ports

WARN_DAYS = 7  # WARN runs this recent are listed


def attention_panel(pipeline: Pipeline, ports: Ports, user: User) -> dict[str, Any]:
    """What needs a person, as `user` may see it: files in landing no run ever read are
    listed only to roles that see landing (the redactor knows only the files of runs)."""
    found = needs_attention(
        pipeline, ports.runlog, ports.storage, None if user.sees("landing") else []
    )
    since = now() - timedelta(days=WARN_DAYS)
    warn = [
        r
        for r in ports.runlog.list(status=Status.SUCCEEDED, limit=500)
        if r.warnings and r.started_at >= since
    ]
    alerts = ports.outbox.undelivered()
    panel: dict[str, Any] = {
        "failed": [
            {"run_id": r.run_id, "dataset": r.dataset, "file": r.file, "state": r.state,
             "error": (r.error or {}).get("message", "")}
            for r in found.failed
        ],
        "warn": [
            {"run_id": r.run_id, "dataset": r.dataset, "file": r.file, "warnings": r.warnings}
            for r in warn
        ],
        "stale": [
            {"dataset": s.dataset, "hours": s.hours,
             "last_success": s.last_success.isoformat() if s.last_success else None}
            for s in found.stale
        ],
        "unmatched": [{"path": u.path, "hint": u.hint} for u in found.unmatched],
        "alerts": [
            {"channel": a.channel, "run_id": a.run_id, "attempts": a.attempts,
             "last_error": a.last_error, "next_at": a.next_at.isoformat() if a.next_at else None}
            for a in alerts
        ],
    }  # fmt: skip
    panel["count"] = sum(len(v) for v in panel.values())
    return panel
