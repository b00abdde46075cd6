"""How runs and pipelines look on a terminal (Rich)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from medalist.catalog import SchemaVersion
from medalist.config import Pipeline
from medalist.runlog import Alert, RunRecord, Status

if TYPE_CHECKING:
    from medalist.doctor import Finding

STATUS_STYLE = {Status.SUCCEEDED: "green", Status.FAILED: "bold red", Status.RUNNING: "yellow"}


def _n(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def runs_table(records: list[RunRecord], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for col, justify in [
        ("run id", "left"),
        ("dataset", "left"),
        ("file", "left"),
        ("status", "left"),
        ("state", "left"),
        ("in", "right"),
        ("silver", "right"),
        ("quarantined", "right"),
        ("loaded", "right"),
        ("seconds", "right"),
    ]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in records:
        table.add_row(
            r.run_id,
            r.dataset,
            r.file,
            f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
            r.state or "",
            _n(r.rows_in),
            _n(r.rows_silver),
            _n(r.rows_quarantined),
            _n(r.rows_loaded),
            f"{r.duration_s:.2f}" if r.duration_s is not None else "",
        )
    return table


def run_detail(r: RunRecord) -> list[RenderableType]:
    head = Table.grid(padding=(0, 2))
    for key, value in [
        ("run", r.run_id),
        ("pipeline", r.pipeline),
        ("dataset", r.dataset),
        ("file", f"landing/{r.file} ({r.file_bytes:,} bytes, sha256 {r.file_hash[:12]}…)"),
        ("status", f"[{STATUS_STYLE[r.status]}]{r.status}[/] at {r.state}"),
        ("started", r.started_at.isoformat(timespec="seconds")),
        ("duration", f"{r.duration_s:.2f}s" if r.duration_s is not None else "running"),
        (
            "rows",
            f"{_n(r.rows_in) or '-'} in, {_n(r.rows_silver) or '-'} silver, "
            f"{_n(r.rows_quarantined) or '-'} quarantined, {_n(r.rows_loaded) or '-'} "
            f"loaded",
        ),
    ]:
        head.add_row(f"[bold]{key}[/]", value)
    if r.replaces:
        head.add_row("[bold]replaces[/]", f"{r.replaces} (this run is a replay of its file)")
    parts: list[RenderableType] = [head]
    if r.error:
        parts.append(
            Panel(
                r.error["message"],
                title=f"error in {r.error.get('state')} ({r.error.get('kind')})",
                border_style="red",
            )
        )
    history = Table(title="states", title_justify="left")
    for col in ("state", "status", "at", "attempt", "detail"):
        history.add_column(col)
    for step in r.history:
        history.add_row(
            step.state,
            f"[{STATUS_STYLE[step.status]}]{step.status}[/]",
            step.at.strftime("%H:%M:%S.%f")[:-3],
            str(step.attempt),
            step.detail or "",
        )
    parts.append(history)
    if r.rule_counts:
        rules = Table(title="rules broken", title_justify="left")
        rules.add_column("rule")
        rules.add_column("rows", justify="right")
        for rule, count in sorted(r.rule_counts.items(), key=lambda kv: -kv[1]):
            rules.add_row(rule, f"{count:,}")
        parts.append(rules)
    crawl = r.outputs.get("Crawl", {})
    if crawl.get("drift"):
        kept = ", ".join(crawl.get("extras") or {}) or "none"
        parts.append(Group(f"[bold]schema drift[/] {crawl['drift']} (kept: {kept})"))
    if crawl.get("ignored_columns"):
        parts.append(
            Group(
                "[bold]ignored columns[/] "
                + ", ".join(crawl["ignored_columns"])
                + " (not in the contract; on_schema_drift: evolve would keep them)"
            )
        )
    gold = r.outputs.get("Transform", {}).get("gold_rows")
    if gold:
        merged = set(r.outputs["Transform"].get("gold_merged") or [])
        built = [
            f"{m} ({n:,} rows, {'merged' if m in merged else 'rebuilt'})" for m, n in gold.items()
        ]
        parts.append(Group("[bold]gold[/] " + ", ".join(built)))
    load = r.outputs.get("Load", {}).get("tables")
    if load:
        parts.append(Group("[bold]loaded[/] " + json.dumps(load)))
    return parts


def redact(url: str) -> str:
    """The URL with its password replaced, for anything printed or logged."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def pipeline_summary(p: Pipeline) -> str:
    datasets = ", ".join(
        f"{n} ({d.source}, {len(d.columns)} columns, load {d.load_mode})"
        for n, d in p.datasets.items()
    )
    models = ", ".join(f"{n} (load {m.load_mode})" for n, m in p.models.items()) or "none"
    channels = ", ".join(n.type for n in p.notifications) or "none"
    return (
        f"[green]✓[/] pipeline [bold]{p.name}[/] is valid\n"
        f"  lake          {p.lake_path}\n"
        f"  destination   {redact(p.destination_url)}\n"
        f"  datasets      {datasets}\n"
        f"  models        {models}\n"
        f"  notifications {channels}"
    )


_VERDICT = {"ok": "[green]✓[/]", "failed": "[bold red]✗[/]", "skipped": "[dim]·[/]"}


def findings(found: Sequence[Finding]) -> str:
    """Doctor's checks, one per line, each failure followed by its fix."""
    lines = []
    for f in found:
        lines.append(f"{_VERDICT[f.verdict]} {f.check:<13} {escape(f.detail)}")
        if f.fix and not f.ok:
            lines.append(f"  {'':<13} fix: {escape(f.fix)}")
    return "\n".join(lines)


def catalog_table(dataset: str, versions: list[SchemaVersion]) -> Table:
    """Every schema version of a dataset with its diff, newest last."""
    table = Table(title=f"{dataset}: {len(versions)} schema version(s)", title_justify="left")
    for col in ("version", "since", "first file", "columns", "change"):
        table.add_column(col)
    for v in versions:
        table.add_row(
            str(v.version),
            v.created_at.isoformat(timespec="seconds"),
            v.file or "",
            ", ".join(f"{c} {t.lower()}" for c, t in v.columns.items()),
            "first version" if v.version == 1 else v.diff.describe(),
        )
    return table


def alerts_table(waiting: list[Alert]) -> Table:
    """Undelivered alerts, oldest first."""
    table = Table(title=f"{len(waiting)} alert(s) not delivered yet", title_justify="left")
    for col in ("alert", "channel", "event", "file", "attempts", "next try", "last error"):
        table.add_column(col)
    for a in waiting:
        table.add_row(
            a.key,
            a.channel,
            str(a.message.get("event")),
            str(a.message.get("file")),
            str(a.attempts),
            a.next_at.isoformat(timespec="seconds") if a.next_at else "",
            a.last_error or "",
        )
    return table
