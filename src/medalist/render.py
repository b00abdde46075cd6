"""How runs and pipelines look on a terminal (Rich)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from medalist.attention import Attention
from medalist.catalog import SchemaVersion
from medalist.config import ALL_ZONES, Pipeline
from medalist.runlog import Alert, RunRecord, Status
from medalist.runlog.timing import elapsed_s

if TYPE_CHECKING:
    from medalist.doctor import Finding

STATUS_STYLE = {Status.SUCCEEDED: "green", Status.FAILED: "bold red", Status.RUNNING: "yellow"}
OUTCOME_STYLE = {**{str(k): v for k, v in STATUS_STYLE.items()}, "WARN": "bold yellow"}


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
            f"[{OUTCOME_STYLE[r.outcome]}]{r.outcome}[/]",
            r.state or "",
            _n(r.rows_in),
            _n(r.rows_silver),
            _n(r.rows_quarantined),
            _n(r.rows_loaded),
            f"{r.duration_s:.2f}" if r.duration_s is not None else "",
        )
    return table


def _file(r: RunRecord) -> str:
    """The run's file; an extract's `file` names its table, not a path in landing, and its
    `file_hash` is the run's own id (integration/extract.py), so neither is shown as a file's."""
    if r.file.startswith("extract:"):
        return f"{r.file} ({r.file_bytes:,} bytes landed)"
    return f"landing/{r.file} ({r.file_bytes:,} bytes, sha256 {r.file_hash[:12]}…)"


def run_detail(r: RunRecord) -> list[RenderableType]:
    head = Table.grid(padding=(0, 2))
    for key, value in [
        ("run", r.run_id),
        ("pipeline", r.pipeline),
        ("dataset", r.dataset),
        ("file", _file(r)),
        ("status", f"[{OUTCOME_STYLE[r.outcome]}]{r.outcome}[/] at {r.state}"),
        ("started", r.started_at.isoformat(timespec="seconds")),
        ("duration", _duration(r)),
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
    for warning in r.warnings:
        head.add_row("[bold yellow]warning[/]", escape(warning))
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


def _duration(r: RunRecord) -> str:
    """The work; and, when a retry came later, the time from first start to end as well."""
    if r.duration_s is None:
        return "running"
    elapsed = elapsed_s(r)
    if elapsed is None or elapsed - r.duration_s < 1:
        return f"{r.duration_s:.2f}s"
    return (
        f"{r.duration_s:.2f}s of work; {_span(elapsed)} from first start to end "
        f"({_span(elapsed - r.duration_s)} waiting for a retry)"
    )


def _span(seconds: float) -> str:
    """3725.0 -> '1h 02m 05s'; 42.5 -> '42.5s'."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def redact(url: str) -> str:
    """The URL with its password replaced, for anything printed or logged."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def _lake(p: Pipeline) -> str:
    """Where the zones are: the lake's folder or prefix, or each zone's bucket."""
    if p.zones:
        return ", ".join(f"{zone} {p.zone_url(zone)}" for zone in ALL_ZONES)
    return p.lake if p.lake_on_s3 else str(p.lake_path)


def pipeline_summary(p: Pipeline) -> str:
    datasets = ", ".join(
        f"{n} ({d.source}, {len(d.columns)} columns, load {d.load_mode})"
        for n, d in p.datasets.items()
    )
    models = ", ".join(f"{n} (load {m.load_mode})" for n, m in p.models.items()) or "none"
    channels = ", ".join(n.type for n in p.notifications) or "none"
    return (
        f"[green]✓[/] pipeline [bold]{p.name}[/] is valid\n"
        f"  lake          {_lake(p)}\n"
        f"  destination   {redact(p.destination_url)}\n"
        f"  datasets      {datasets}\n"
        f"  models        {models}\n"
        f"  notifications {channels}"
    )


T = TypeVar("T")
SHOWN_AT_MOST = 10  # items per kind in "needs attention"; the rest are counted


def _first_line(text: str, width: int = 140) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def attention(found: Attention, runs: Sequence[RunRecord], config: str | None) -> str:
    """What still needs a person after a `medalist run`: runs of this invocation that WARN,
    FAILED runs waiting for retry (with the command), stale datasets, unmatched files."""
    c = f" -c {config}" if config else ""
    lines: list[str] = []

    def listed(items: Sequence[T], more: str) -> Sequence[T]:
        if len(items) > SHOWN_AT_MOST:
            lines.append(f"  … and {len(items) - SHOWN_AT_MOST} more: {more}")
        return items[:SHOWN_AT_MOST]

    for r in [r for r in runs if r.outcome == "WARN"]:
        lines.append(
            f"  [yellow]WARN[/] {r.dataset} {escape(r.file)}: {escape('; '.join(r.warnings))}"
            f" (medalist show {r.run_id}{c})"
        )
    for r in listed(found.failed, f"medalist runs --status failed{c}"):
        error = r.error or {}
        said = str(error.get("message") or "no error recorded")
        if error.get("fix"):  # the message ends with its fix: the sentence before it is enough
            said = said.removesuffix(str(error["fix"])).rstrip(" .") + "."
        why = escape(_first_line(said))
        lines.append(
            f"  [bold red]FAILED[/] {r.dataset} {escape(r.file)} at {r.state}: {why}\n"
            f"      fix the cause, then: medalist retry {r.run_id}{c}"
        )
    for st in found.stale:
        since = (
            f"last successful file {st.hours:g} h ago"
            if st.hours is not None
            else "no successful file yet"
        )
        lines.append(f"  [yellow]STALE[/] {st.dataset}: {since} (freshness_hours)")
    for u in listed(found.unmatched, "see `attention.ignore_in_landing` in docs/configuration.md"):
        lines.append(f"  [yellow]UNMATCHED[/] landing/{escape(u.path)}: {escape(u.hint)}")
    if not lines:
        return ""
    return "[bold]Needs attention[/]\n" + "\n".join(lines)


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
