"""What `medalist extract` and `medalist land` print: progress while they work, one line per
table or file after. The commands themselves are in medalist.cli."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from medalist.config import Pipeline
from medalist.errors import ConfigError
from medalist.integration.extract import extract, summary
from medalist.integration.land import Landed, Outcome, land
from medalist.integration.presign import presign
from medalist.integration.watch import watch
from medalist.runlog import Status
from medalist.workflow.context import Ports


def run_extract(
    pipeline: Pipeline,
    ports: Ports,
    source: str,
    tables: list[str] | None,
    out: Console,
    err: Console,
) -> int:
    """Extract with a live row count; exit code 1 if any table failed."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(name: str, rows: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=None)
            bar.update(tasks[name], completed=rows)

        runs = extract(pipeline, ports, source, tables, progress)
    for run in runs:
        style = "red" if run.status == Status.FAILED else "green"
        out.print(f"[{style}]{summary(run)}[/]", soft_wrap=True)
    return 1 if any(r.status == Status.FAILED for r in runs) else 0


def _line(done: Landed) -> str:
    if done.outcome == Outcome.LANDED:
        return f"[green]landed[/] {done.source} → landing/{done.target} ({done.size:,} bytes)"
    if done.outcome == Outcome.SKIPPED:
        return f"[yellow]skipped[/] {done.source}: {done.reason}"
    return f"[red]refused[/] {done.source}: {done.reason}"


def run_land(
    pipeline: Pipeline,
    ports: Ports,
    paths: list[Path],
    dataset: str,
    check: bool,
    out: Console,
    err: Console,
) -> int:
    """Land files with a bytes/s progress bar; exit code 1 if any file was refused."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        current: list[TaskID] = []

        def started(local: Path, target: str, size: int) -> None:
            current[:] = [bar.add_task(local.name, total=size)]

        def sent(nbytes: int) -> None:
            bar.advance(current[0], nbytes)

        results = land(
            pipeline, ports, paths, dataset, check=check, on_start=started, on_progress=sent
        )
    for done in results:
        out.print(_line(done), soft_wrap=True)
    if not results:
        out.print("No files to land.")
    return 1 if any(d.outcome == Outcome.REFUSED for d in results) else 0


def run_presign(
    pipeline: Pipeline, ports: Ports, paths: list[Path], dataset: str, seconds: int, out: Console
) -> int:
    """One upload URL per file name (a local file's name, or just a name), with its curl line."""
    for path in paths:
        signed = presign(pipeline, ports.storage, dataset, path.name, seconds)
        out.print(
            f"landing/{signed.path}: PUT until {signed.expires_at:%Y-%m-%d %H:%M:%S %Z}",
            soft_wrap=True,
        )
        out.print(signed.url, soft_wrap=True, highlight=False, markup=False)
        out.print(signed.curl(str(path)), soft_wrap=True, highlight=False, markup=False)
    return 0


def run_watch(
    pipeline: Pipeline,
    ports: Ports,
    folder: Path,
    dataset: str,
    check: bool,
    state: Path | None,
    once: bool,
    out: Console,
) -> int:
    """Land new files of a folder as they appear, until SIGINT/SIGTERM (or one scan: --once)."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder", fix="Pass the folder to watch.")
    stop = threading.Event()
    before = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP}
    until = "one scan" if once else "Ctrl-C to stop"
    out.print(f"Watching {folder} for dataset {dataset} ({until})…")
    try:
        watch(
            pipeline,
            ports,
            folder,
            dataset,
            state_path=state,
            check=check,
            settle_s=0.0 if once else 2.0,
            should_stop=lambda: once or stop.is_set(),
            on_done=lambda done: out.print(_line(done), soft_wrap=True),
        )
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    return 0


_STOP = (signal.SIGINT, signal.SIGTERM)
