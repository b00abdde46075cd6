"""What `medalist extract` and `medalist land` print: progress while they work, one line per
table or file after. The commands themselves are in medalist.cli."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from medalist.config import Pipeline
from medalist.integration.extract import extract, summary
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
