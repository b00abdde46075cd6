"""The Notifier port (SNS in the AWS design): one message per finished run, per channel.

Messages do not go out directly: `route` turns a finished run into one `Alert` per channel that
wants it, the runner writes them to the outbox together with the run's final state, and
`notify.outbox.deliver_due` sends them (again, with backoff, until each channel takes them).
"""

from __future__ import annotations

from typing import Any, Protocol

from medalist.conditions import holds, parse
from medalist.config import NotificationSpec, Pipeline
from medalist.plugins import load_adapter
from medalist.runlog import Alert, RunRecord, Status

GROUP = "medalist.notifiers"


class Notifier(Protocol):
    def send(self, message: dict[str, Any]) -> None:
        """Deliver one message (see `run_message`); raise if the channel did not take it."""


def channels(pipeline: Pipeline) -> dict[str, NotificationSpec]:
    """Channels by name: `name:` when given, else the type (webhook, webhook-2, …)."""
    named: dict[str, NotificationSpec] = {}
    for spec in pipeline.notifications:
        base = spec.name or spec.type
        name, n = base, 1
        while name in named:
            n += 1
            name = f"{base}-{n}"
        named[name] = spec
    return named


def open_notifiers(pipeline: Pipeline) -> dict[str, Notifier]:
    """The adapter registered under each channel's `type`, by channel name."""
    return {
        name: load_adapter(GROUP, spec.type)(spec, pipeline)
        for name, spec in channels(pipeline).items()
    }


def run_message(run: RunRecord, dashboard_url: str | None = None) -> dict[str, Any]:
    """What every channel says about a finished run."""
    failed = run.status == Status.FAILED
    error = run.error or {}
    crawl = run.outputs.get("Crawl", {})
    rows_in, quarantined = run.rows_in or 0, run.rows_quarantined or 0
    return {
        "event": "FAIL" if failed else "SUCCESS",
        # SUCCESS, WARN (a success that needs a look) or FAIL: decision 0020. `event` stays
        # SUCCESS/FAIL for receivers that switch on it.
        "outcome": "FAIL" if failed else ("WARN" if run.warnings else "SUCCESS"),
        "warnings": run.warnings,
        "pipeline": run.pipeline,
        "run_id": run.run_id,
        "dataset": run.dataset,
        "file": run.file,
        "state": run.state,
        "reason": error.get("message") if failed else None,
        "rule": error.get("rule") if failed else None,
        "schema_diff": crawl.get("drift"),
        "rows_in": run.rows_in,
        "rows_silver": run.rows_silver,
        "rows_quarantined": run.rows_quarantined,
        "rows_loaded": run.rows_loaded,
        "quarantined_ratio": round(quarantined / rows_in, 6) if rows_in else 0.0,
        "rule_counts": run.rule_counts,
        "duration_s": run.duration_s,
        "url": f"{dashboard_url.rstrip('/')}/runs/{run.run_id}" if dashboard_url else None,
    }


def route(pipeline: Pipeline, run: RunRecord, message: dict[str, Any]) -> list[Alert]:
    """One alert per channel whose `on` and `when` accept this run."""
    wanted = _subscriptions(message)
    alerts = []
    for name, spec in channels(pipeline).items():
        if not wanted & set(spec.on) or (spec.when and not holds(parse(spec.when), message)):
            continue
        key = f"{run.run_id}.{run.version + 1}.{name}"  # the version the final update writes
        alerts.append(
            Alert(
                key,
                run.pipeline,
                name,
                run.run_id,
                {**message, "alert_id": key},
                run.ended_at or run.started_at,
            )
        )
    return alerts


def _subscriptions(message: dict[str, Any]) -> set[str]:
    """The `on:` values that hear this message: a WARN run is a success too."""
    if message["event"] == "FAIL":
        return {"failure"}
    return {"success", "warn"} if message.get("outcome") == "WARN" else {"success"}


def headline(message: dict[str, Any]) -> str:
    """One line: `FAIL orders 2026-11-24.csv at Transform: reason` or a SUCCESS summary."""
    name = f"{message['dataset']} {message['file']}"
    if message["event"] == "FAIL":
        return f"FAIL {name} at {message['state']}: {message['reason']}"
    if message["state"] == "Extract":  # medalist extract: rows landed, no silver yet
        took = message["duration_s"] or 0
        return f"SUCCESS {name}: {message['rows_in'] or 0} rows landed in {took:.2f}s"
    warn = message.get("outcome") == "WARN"
    return (
        f"{'WARN' if warn else 'SUCCESS'} {name}: {message['rows_in'] or 0} in, "
        f"{message['rows_silver'] or 0} silver, {message['rows_quarantined'] or 0} quarantined, "
        f"{message['rows_loaded'] or 0} loaded in {message['duration_s'] or 0:.2f}s"
        + (f" ({'; '.join(message['warnings'])})" if warn else "")
    )


def subject(message: dict[str, Any]) -> str:
    """`[medalist] FAILED orders 2026-11-24.csv at Transform`, or SUCCEEDED with its counts."""
    name = f"{message['dataset']} {message['file'].rsplit('/', 1)[-1]}"
    if message["event"] == "FAIL":
        return f"[medalist] FAILED {name} at {message['state']}"
    word = "WARN: SUCCEEDED" if message.get("outcome") == "WARN" else "SUCCEEDED"
    return (
        f"[medalist] {word} {name}: {message['rows_in'] or 0:,} in, "
        f"{message['rows_quarantined'] or 0:,} quarantined"
    )


def body(message: dict[str, Any]) -> str:
    """The whole message as plain text (email, console detail)."""
    lines = [headline(message), ""]
    for key in (
        "pipeline",
        "run_id",
        "dataset",
        "file",
        "state",
        "reason",
        "rule",
        "schema_diff",
        "warnings",
        "rows_in",
        "rows_silver",
        "rows_quarantined",
        "rows_loaded",
        "quarantined_ratio",
        "duration_s",
        "url",
    ):
        value = message.get(key)
        if value is not None and value != []:
            lines.append(f"{key}: {'; '.join(value) if isinstance(value, list) else value}")
    return "\n".join(lines) + "\n"
