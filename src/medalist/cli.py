"""The `medalist` command. Errors become output in one place (`_errors`): exit 1 for a runtime
failure, 2 for usage or configuration."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from medalist import render
from medalist.config import Pipeline, read_pipeline, resolve_config_path
from medalist.controller import Outcome, run_pipeline
from medalist.deploy.cli import aws_app
from medalist.errors import MedalistError, NotFound, Refused
from medalist.runlog import RunRecord, Status
from medalist.wiring import open_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="medalist: landing → crawl → transform → load, with a run log and alerts.",
)
# Piped output is not cut to 80 columns: tables of runs are wide.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "-c",
        "--config",
        help="pipeline.yaml to use. Default: $MEDALIST_CONFIG, then ./pipeline.yaml.",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from medalist import __version__

        try:
            installed = version("medalist")
        except PackageNotFoundError:  # run from a source tree
            installed = __version__
        out.print(f"medalist {installed}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """medalist: landing → crawl → transform → load, with a run log and alerts."""


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except MedalistError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def _load(config: Path | None, *, cross_checks: bool = True) -> Pipeline:
    """The pipeline of `config`; without `cross_checks` the file is read and validated but its
    rules and models are not checked against each other (what `extract` needs, decision 0041)."""
    if not cross_checks:
        return read_pipeline(resolve_config_path(config))
    # Imported when a command loads its pipeline: the checks across fields bring DuckDB and
    # sqlglot, which `medalist --help` and `init` do without (about 0.35 CPU s at start-up).
    from medalist.loader import load_pipeline

    return load_pipeline(resolve_config_path(config))


@app.command()
def init(name: Annotated[str, typer.Argument(help="Folder to create, e.g. shop.")]) -> None:
    """Scaffold NAME/pipeline.yaml and NAME/lake/landing/ with a sample file."""
    from medalist.scaffold import scaffold

    with _errors():
        config = scaffold(Path(name))
    out.print(
        f"Created {config} and {config.parent / 'lake' / 'landing'}/.\n"
        f"Next: medalist validate -c {config} && medalist run -c {config}"
    )


@app.command()
def validate(
    config: ConfigOption = None,
    connect: Annotated[
        bool,
        typer.Option(
            "--connect", help="Also check the lake and the destination (as `medalist doctor`)."
        ),
    ] = False,
) -> None:
    """Check pipeline.yaml: keys, types, rule values, the models' SQL against the columns they
    read. Exit 2 if it is wrong; with --connect, exit 1 if the destination is not ready."""
    with _errors():
        pipeline = _load(config)
    out.print(render.pipeline_summary(pipeline))
    if connect:
        _checks(pipeline)


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check what a run needs: pipeline.yaml, the lake, and the destination (reachable,
    credentials, database, privileges), each failure with its fix. Exit 1 if one fails."""
    with _errors():
        pipeline = _load(config)
    out.print(f"[green]✓[/] {'pipeline.yaml':<13} pipeline {pipeline.name} is valid")
    _checks(pipeline)


def _checks(pipeline: Pipeline) -> None:
    from medalist.doctor import examine

    findings = examine(pipeline)
    out.print(render.findings(findings))
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


@app.command()
def run(config: ConfigOption = None) -> None:
    """Process every new file in landing, one run per file. Exit 1 if any run failed."""
    from medalist.attention import needs_attention

    with _errors():
        pipeline = _load(config)
        ports = open_ports(pipeline)
        outcome = run_pipeline(pipeline, ports, on_start=_started)
        found = needs_attention(pipeline, ports.runlog, ports.storage, outcome.unmatched)
    _report(outcome, nothing="Nothing new in landing.", exit_on_failure=False)
    summary = render.attention(found, outcome.runs, str(config) if config else None)
    if summary:
        out.print(summary)
    if outcome.failed:
        raise typer.Exit(1)


@app.command()
def retry(
    run_id: Annotated[str, typer.Argument(help="A FAILED run's id, or a unique prefix of one.")],
    config: ConfigOption = None,
) -> None:
    """Rerun a FAILED run from the state where it halted (with the current pipeline.yaml)."""
    from medalist.operate import retry_run

    with _errors():
        pipeline = _load(config)
        outcome = retry_run(pipeline, open_ports(pipeline), Runner(INGEST), run_id, _started)
    _report(outcome, nothing="")


@app.command()
def replay(
    dataset: Annotated[str, typer.Argument(help="Dataset whose files to process again.")],
    config: ConfigOption = None,
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only files first run on or after this day."),
    ] = None,
    file: Annotated[
        str | None, typer.Option(help="Only this file (its path inside landing/).")
    ] = None,
) -> None:
    """Process finished files again (after a contract fix, say): new rows replace old ones."""
    from medalist.operate import replay_dataset

    with _errors():
        pipeline = _load(config)
        outcome = replay_dataset(
            pipeline,
            open_ports(pipeline),
            Runner(INGEST),
            dataset,
            since.date() if since else None,
            file,
            _started,
        )
    _report(outcome, nothing="Nothing to replay.")


@app.command()
def compact(
    dataset: Annotated[
        str | None, typer.Argument(help="Dataset to compact; default every dataset.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Rewrite each month's silver files of a dataset as one file (the view is unchanged)."""
    from medalist.compaction import compact as compact_silver

    with _errors():
        pipeline = _load(config)
        if dataset is not None and dataset not in pipeline.datasets:
            raise NotFound(
                f"no dataset {dataset!r} in {pipeline.name}",
                fix=f"Datasets: {', '.join(pipeline.datasets)}.",
            )
        done = compact_silver(
            pipeline, open_ports(pipeline), Runner(INGEST), [dataset] if dataset else None
        )
    if not done:
        out.print("Nothing to compact: no month holds two or more live silver files.")
    for record in done:
        info = record.outputs.get("Compact", {})
        out.print(
            f"{record.status.value} {record.dataset} {info.get('period')}: "
            f"{len(info.get('members', []))} files into {info.get('silver_path')} "
            f"({info.get('rows', 0):,} rows) run {record.run_id}"
        )
    if any(r.status == Status.FAILED for r in done):
        raise typer.Exit(1)


def _started(run: RunRecord) -> None:
    err.print(f"[dim]▶ {run.dataset} {run.file}[/]")


def _report(outcome: Outcome, nothing: str, exit_on_failure: bool = True) -> None:
    """Print what a run/retry/replay did; exit 1 if any run failed."""
    for path in outcome.busy:
        out.print(f"skipped {path}: another live process is running it")
    for reason in outcome.skipped:
        out.print(f"skipped {reason}")
    if not outcome.runs:
        if nothing and not outcome.busy and not outcome.skipped:
            out.print(nothing)
        return
    out.print(render.runs_table(outcome.runs, title="This run"))
    if outcome.failed and exit_on_failure:
        raise typer.Exit(1)


@app.command()
def runs(
    config: ConfigOption = None,
    dataset: Annotated[str | None, typer.Option(help="Only this dataset.")] = None,
    status: Annotated[
        Status | None,
        typer.Option(case_sensitive=False, help="Only runs with this status (any case)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Table of runs: id, dataset, file, status, state, rows, duration."""
    with _errors():
        pipeline = _load(config)
        records = open_ports(pipeline).runlog.list(dataset=dataset, status=status, limit=limit)
    if not records:
        out.print("No runs yet. Land files under the lake's landing/ and `medalist run`.")
        return
    out.print(render.runs_table(records))


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="Run id, or a unique prefix of one.")],
    config: ConfigOption = None,
) -> None:
    """Every state of one run, its counts, rule counts and error."""
    with _errors():
        pipeline = _load(config)
        record = open_ports(pipeline).runlog.get(run_id)
    for part in render.run_detail(record):
        out.print(part)


@app.command()
def catalog(
    dataset: Annotated[str | None, typer.Argument(help="One dataset; default all.")] = None,
    config: ConfigOption = None,
) -> None:
    """Schema versions of each dataset, as the catalog recorded them, with their diffs."""
    with _errors():
        pipeline = _load(config)
        names = [dataset] if dataset else list(pipeline.datasets)
        if dataset and dataset not in pipeline.datasets:
            raise NotFound(
                f"no dataset {dataset!r} in {pipeline.name}",
                fix=f"Datasets: {', '.join(pipeline.datasets)}.",
            )
        store = open_ports(pipeline).catalog
        for name in names:
            versions = store.versions(name)
            if versions:
                out.print(render.catalog_table(name, versions))
            else:
                out.print(f"{name}: no schema yet (no file crawled)")


@app.command()
def watch(config: ConfigOption = None) -> None:
    """Start a run for each file as it lands (file events plus polling), until stopped."""
    with _errors():
        pipeline = _load(config)
    _serve(pipeline, events=True, schedule=False, once=False)


@app.command()
def serve(
    config: ConfigOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="One scheduler tick: process what is new, then exit.")
    ] = False,
    with_ui: Annotated[bool, typer.Option("--ui", help="Serve the dashboard too.")] = False,
    host: Annotated[str, typer.Option(help="Dashboard address (with --ui).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Dashboard port (with --ui).")] = 8000,
) -> None:
    """Run unattended: on file arrival and/or the cron schedule (trigger: in pipeline.yaml),
    delivering alerts; one JSON log line per event; SIGTERM/SIGINT stop after the current run."""
    with _errors():
        pipeline = _load(config)
        dashboard = _dashboard(pipeline, host, port) if with_ui and not once else None
    mode = pipeline.trigger.mode
    if dashboard is not None:
        threading.Thread(target=dashboard.run, name="medalist-ui", daemon=True).start()
    try:
        _serve(pipeline, events=mode in ("event", "both"), schedule=mode != "event", once=once)
    finally:
        if dashboard is not None:
            dashboard.should_exit = True


def _serve(pipeline: Pipeline, *, events: bool, schedule: bool, once: bool) -> None:
    from medalist.serve import Server

    with _errors():
        server = Server(pipeline, sys.stdout, events=events, schedule=schedule)

    def stop(signum: int, frame: object) -> None:
        server.emit("serve.stopping", signal=signal.Signals(signum).name)
        server.stop.set()
        server.wake.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with _errors():
        server.serve(once=once)


def _dashboard(pipeline: Pipeline, host: str, port: int) -> Any:
    """A uvicorn server for the dashboard; refused beyond 127.0.0.1 while no users exist."""
    import uvicorn

    from medalist.access import Users
    from medalist.web.app import create_app

    if Users(pipeline).single_user() and not _loopback(host):
        raise Refused(
            f"no users exist, so the dashboard is in single-user mode and may only bind "
            f"127.0.0.1, not {host}",
            fix="Create users first: `medalist users add NAME --role ROLE`.",
        )
    _port_free(host, port)
    config = uvicorn.Config(create_app(pipeline), host=host, port=port, log_level="warning")
    err.print(f"dashboard on http://{host}:{port}/")
    return uvicorn.Server(config)


def _port_free(host: str, port: int) -> None:
    """Bind the address once before saying where the dashboard is: uvicorn would print the
    URL, then fail to bind (exit 3). A port taken is Refused: exit 2, with the fix."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(
            f"cannot serve on {host}: {exc.strerror}", fix="Pass --host 127.0.0.1."
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise Refused(
                f"{host}:{port} is already in use ({exc.strerror})",
                fix=f"Stop what listens there (`ss -ltnp 'sport = :{port}'` shows it), or pass "
                f"--port {port + 1}.",
            ) from None


@app.command()
def ui(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """The dashboard: runs, datasets, the SQL console (and /api, /openapi.json)."""
    with _errors():
        dashboard = _dashboard(_load(config), host, port)
    dashboard.run()


def _loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


users_app = typer.Typer(help="Dashboard users: add, list, remove.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(aws_app, name="aws")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option("--role", help="One of access.roles.")],
    config: ConfigOption = None,
) -> None:
    """Create a user; print its token once (only a hash is kept)."""
    from medalist.access import Users

    with _errors():
        token = Users(_load(config)).add(name, role)
    out.print(f"User {name} ({role}) created. Token, shown this once:\n{token}")


@users_app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """Users and their roles."""
    from medalist.access import Users

    with _errors():
        rows = Users(_load(config)).all()
    if not rows:
        out.print("No users: the dashboard runs in single-user mode on 127.0.0.1.")
    for name, role, created in rows:
        out.print(f"{name}  {role}  since {created}")


@users_app.command("remove")
def users_remove(name: str, config: ConfigOption = None) -> None:
    """Delete a user and end its sessions."""
    from medalist.access import Users

    with _errors():
        Users(_load(config)).remove(name)
    out.print(f"User {name} removed.")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="One SELECT / WITH / EXPLAIN / DESCRIBE.")],
    config: ConfigOption = None,
    role: Annotated[str | None, typer.Option(help="Run as this role (default admin).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Read-only SQL over the zones (landing, silver, gold, quarantine), as in the dashboard."""
    import csv as csvlib
    import json

    from rich.table import Table

    from medalist.access import User, Users
    from medalist.query import DOWNLOAD_ROWS, Console

    with _errors():
        pipeline = _load(config)
        users = Users(pipeline)
        user = users.local_admin()
        if role is not None:
            if role not in pipeline.access.roles:
                raise NotFound(
                    f"no role {role!r}", fix=f"Roles: {', '.join(pipeline.access.roles)}."
                )
            user = User(user.name, role, pipeline.access.roles[role])
        result = Console(pipeline, open_ports(pipeline), user, users).run(
            sql, page_rows=DOWNLOAD_ROWS
        )
    if fmt == "json":
        for row in result.rows:
            sys.stdout.write(
                json.dumps(dict(zip(result.columns, row, strict=True)), default=str) + "\n"
            )
    elif fmt == "csv":
        writer = csvlib.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        out.print(table)
        out.print(
            f"{len(result.rows):,} row(s) in {result.seconds:.2f}s"
            + (" (more not shown)" if result.has_more else "")
        )


@app.command()
def alerts(
    config: ConfigOption = None,
    send: Annotated[bool, typer.Option("--send", help="Try every undelivered alert now.")] = False,
) -> None:
    """Alerts not delivered yet (a channel was down), with their attempts and last error."""
    from medalist.notify import open_notifiers
    from medalist.notify.outbox import deliver_due

    with _errors():
        pipeline = _load(config)
        outbox = open_ports(pipeline).outbox
        if send:
            done = deliver_due(outbox, open_notifiers(pipeline), force=True)
            out.print(f"sent {len(done.sent)}, failed {len(done.failed)}")
        waiting = outbox.undelivered()
    if not waiting:
        out.print("Every alert has been delivered.")
        return
    out.print(render.alerts_table(waiting))


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Where to write the demo project.")] = Path(
        "medalist-demo"
    ),
) -> None:
    """Write a demo project with messy retail data, run it, and print where to look."""
    from medalist.demo import run_demo

    with _errors():
        run_demo(directory, out)


@app.command()
def extract(
    source: Annotated[str, typer.Argument(help="A source under sources: in pipeline.yaml.")],
    config: ConfigOption = None,
    table: Annotated[
        list[str] | None, typer.Option("--table", "-t", help="Only this table (repeatable).")
    ] = None,
) -> None:
    """Copy a database's tables into landing as Parquet (incremental by cursor, or full)."""
    from medalist.integration.cli import run_extract

    with _errors():  # rules and models are the run's to check: ~0.6 s of CPU (decision 0041)
        pipeline = _load(config, cross_checks=False)
        code = run_extract(pipeline, open_ports(pipeline), source, table, out, err)
    raise typer.Exit(code)


@app.command()
def land(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to send.")] = None,
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset to land them for.")] = "",
    config: ConfigOption = None,
    check: Annotated[
        bool, typer.Option(help="Refuse files whose format or header breaks the contract.")
    ] = False,
    watch: Annotated[
        Path | None, typer.Option(help="Keep landing new files of this folder until stopped.")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="--watch: what was sent (default DIR/.medalist-sent.jsonl).")
    ] = None,
    once: Annotated[bool, typer.Option(help="--watch: one scan, then exit.")] = False,
    presign: Annotated[
        bool, typer.Option(help="Print a time-limited upload URL per file name (lake on S3).")
    ] = False,
    expires: Annotated[int, typer.Option(help="--presign: seconds the URL lives.")] = 3600,
) -> None:
    """Send files into landing/<dataset>/: streamed, published whole, each content once."""
    from medalist.integration.cli import run_land, run_presign, run_watch

    with _errors():
        pipeline = _load(config)
        if not dataset or (watch is None) == (not paths):
            raise Refused(
                "give --dataset, and PATH… or --watch DIR",
                fix="e.g. medalist land data/*.csv --dataset orders",
            )
        if presign and watch is not None:
            raise Refused("--presign signs names; it does not watch a folder", fix="Drop --watch.")
        ports = open_ports(pipeline)
        if presign:
            code = run_presign(pipeline, ports, paths or [], dataset, expires, out)
        elif watch is not None:
            code = run_watch(pipeline, ports, watch, dataset, check, state, once, out)
        else:
            code = run_land(pipeline, ports, paths or [], dataset, check, out, err)
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
