"""Silver compaction (decision 0029): the run files of one period of a dataset rewritten as one,
so a year of daily files is not 365 files every read opens.

A compaction is a run in the run log (`medalist runs` lists it; its file is
`_compaction/<dataset>/<period>`), done under the pipeline's lock like Transform: it writes
`silver/<dataset>/<its id>.parquet` (and quarantine's) from the period's live files, staged then
published, and commits in one run-log update that names the runs it absorbed
(`outputs.Compact.members`). From that commit on, readers see the compaction's file instead of
its members' (RunLog.live_runs); the view is the same, row for row: each row keeps its lineage
(`_run_id`, `_source_file`, `_source_row`), and rows a later run superseded are dropped the way
the view drops them. A kill before the commit leaves the members live and files nobody reads
(swept); the interrupted compaction is marked FAILED by the next one. Then the sweep deletes the
members' files.

Periods are months of arrival (the run id's time); a period compacted again absorbs its earlier
compaction. Both run logs record compactions (SQLite, DynamoDB: decision 0043). A replay of a
file whose run was compacted is refused (named in the outcome): its rows are in the period's
file.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from ulid import ULID

from medalist.config import Pipeline
from medalist.controller import new_run, next_run_id, take_over
from medalist.errors import MedalistError, TerminalError, as_medalist_error
from medalist.incremental import INCOMING
from medalist.leases import LEASE, Heartbeat
from medalist.metastore import now
from medalist.runlog import RunRecord, Status, Transition
from medalist.runlog.timing import work_s
from medalist.states.lake import STAGED_ZONES, run_file, sweep
from medalist.storage import Zone
from medalist.workflow.context import Ports, RunContext
from medalist.workflow.definition import RetryPolicy, TaskState
from medalist.workflow.runner import LOCK_POLL_S, Runner

PREFIX = "_compaction/"  # the `file` of a compaction's run record
COMPACT = TaskState(
    "Compact",
    lambda ctx: None,  # type: ignore[arg-type,return-value]  # run by compact(), not a Runner
    RetryPolicy(),
    "Rewrite a period's silver files as one.",
    exclusive=True,
)


@runtime_checkable
class SupportsCompaction(Protocol):
    """A run log that knows which runs committed compactions absorbed."""

    def compacted_runs(self, dataset: str) -> set[str]: ...


def is_compaction(run: RunRecord) -> bool:
    return run.file.startswith(PREFIX)


def compacted_into(ports: Ports, dataset: str) -> dict[str, str]:
    """run id -> the committed compaction whose file holds its rows now."""
    holder = {
        member: r.run_id
        for r in ports.runlog.list(dataset=dataset, limit=None)
        if is_compaction(r) and "Compact" in r.outputs
        for member in r.outputs["Compact"]["members"]
    }
    resolved = {}
    for member, into in holder.items():
        while into in holder:  # a compaction absorbed by a later one of its period
            into = holder[into]
        resolved[member] = into
    return resolved


def landed_runs(ports: Ports, dataset: str) -> set[str]:
    """Runs whose landed file's rows readers see: the live ones and those a compaction holds
    (compactions themselves read no landed file)."""
    compacted = compacted_into(ports, dataset)
    return (ports.runlog.live_runs(dataset) | set(compacted)) - set(compacted.values())


def period_of(run_id: str) -> str:
    """The month a run arrived in (its id's time): 2026-12."""
    moment = datetime.fromtimestamp(ULID.from_str(run_id).milliseconds / 1000, UTC)
    return f"{moment:%Y-%m}"


def due(pipeline: Pipeline, ports: Ports) -> list[str]:
    """Datasets whose live silver files pass `compaction.max_files`."""
    limit = pipeline.compaction.max_files
    if limit is None or not isinstance(ports.runlog, SupportsCompaction):
        return []
    return [d for d in pipeline.datasets if len(ports.runlog.live_runs(d)) > limit]


def after_run(pipeline: Pipeline, ports: Ports, runner: Runner) -> list[RunRecord]:
    """What `medalist run` does last: compact the datasets past the threshold, and finish
    compactions a killed process left RUNNING."""
    if not isinstance(ports.runlog, SupportsCompaction):
        return []
    datasets = due(pipeline, ports)
    left = any(
        is_compaction(r) and r.pipeline == pipeline.name
        for r in ports.runlog.list(status=Status.RUNNING, limit=None)
    )
    if datasets or left:
        return compact(pipeline, ports, runner, datasets)
    if _unswept(pipeline, ports):  # killed between a compaction's commit and its sweep
        with _locked(pipeline, ports, runner):
            sweep(ports, pipeline)
    return []


def _unswept(pipeline: Pipeline, ports: Ports) -> bool:
    """Whether silver still holds a file a committed compaction absorbed."""
    runlog = ports.runlog
    assert isinstance(runlog, SupportsCompaction)
    for dataset in pipeline.datasets:
        absorbed = runlog.compacted_runs(dataset)
        if absorbed and any(
            f.path.rsplit("/", 1)[-1].removesuffix(".parquet") in absorbed
            for f in ports.storage.find("silver", f"{dataset}/*.parquet")
        ):
            return True
    return False


def compact(
    pipeline: Pipeline, ports: Ports, runner: Runner, datasets: list[str] | None = None
) -> list[RunRecord]:
    """Compact every period of `datasets` (default all) that holds two or more live files;
    first finish the compactions a killed process left RUNNING. Returns the compactions."""
    if not isinstance(ports.runlog, SupportsCompaction):
        raise TerminalError(
            "this run log cannot record compactions",
            fix="Use the SQLite or the DynamoDB run log (decisions 0029, 0043).",
        )
    abandoned = [
        taken
        for run in ports.runlog.list(status=Status.RUNNING, limit=None)
        if run.pipeline == pipeline.name and is_compaction(run)
        for taken in [take_over(ports, runner, run)]
        if taken is not None
    ]
    chosen = list(pipeline.datasets) if datasets is None else datasets
    wanted = [a.dataset for a in abandoned] + chosen
    done: list[RunRecord] = []
    engine = ports.engine()
    current: list[RunContext] = []

    def renew() -> bool:
        until = now() + LEASE
        ports.runlog.lock(_lock(pipeline), runner.owner, until)
        return all(ports.runlog.renew(c.run.run_id, runner.owner, until) for c in current)

    try:
        with _locked(pipeline, ports, runner), Heartbeat(renew):
            for dataset in dict.fromkeys(wanted):
                periods = _periods(ports, dataset)
                for record in [a for a in abandoned if a.dataset == dataset]:
                    ctx = RunContext(pipeline, record, ports, engine)
                    current[:] = [ctx]
                    done.append(_resume(ctx, periods))
                    periods = _periods(ports, dataset)
                for period, members in periods.items():
                    if len(members) < 2:
                        continue
                    ctx = RunContext(pipeline, _claim(pipeline, ports, runner, dataset, period),
                                     ports, engine)  # fmt: skip
                    current[:] = [ctx]
                    done.append(_one(ctx, members))
            if done:
                sweep(ports, pipeline)  # the absorbed files, now that nobody reads them
    finally:
        engine.close()
    return done


def _resume(ctx: RunContext, periods: dict[str, list[str]]) -> RunRecord:
    """Redo a compaction a killed process left RUNNING (or only record its end, when its
    commit was written): like a run's state, from its inputs."""
    if "Compact" in ctx.run.outputs:
        return _end(ctx, Status.SUCCEEDED, None)
    period = ctx.run.file.rsplit("/", 1)[-1]
    members = [m for m in periods.get(period, []) if m != ctx.run.run_id]
    if len(members) < 2:  # another compaction did it meanwhile
        ctx.run = ctx.ports.runlog.update(
            ctx.run.model_copy(
                update={"outputs": {"Compact": {"members": [], "period": period, "rows": 0}}}
            )
        )
        return _end(ctx, Status.SUCCEEDED, None)
    return _one(ctx, members)


def _lock(pipeline: Pipeline) -> str:
    return f"pipeline:{pipeline.name}"


@contextmanager
def _locked(pipeline: Pipeline, ports: Ports, runner: Runner) -> Iterator[None]:
    """The pipeline's lock (the one Transform and Load hold), taken over from a dead holder."""
    name, runlog = _lock(pipeline), ports.runlog
    while not runlog.lock(name, runner.owner, now() + LEASE):
        holder = runlog.lock_holder(name)
        if holder and ports.liveness.gone(*holder):
            runlog.lock(name, runner.owner, now() + LEASE, replacing=holder[0])
            continue
        time.sleep(LOCK_POLL_S)
    try:
        yield
    finally:
        runlog.unlock(name, runner.owner)


def _periods(ports: Ports, dataset: str) -> dict[str, list[str]]:
    """period -> live run ids (compactions included) of the dataset, oldest first."""
    periods: dict[str, list[str]] = {}
    compactions = {
        r.run_id: r.outputs["Compact"].get("period")
        for r in ports.runlog.list(dataset=dataset, limit=None)
        if is_compaction(r) and "Compact" in r.outputs
    }
    for run_id in sorted(ports.runlog.live_runs(dataset)):
        period = compactions.get(run_id) or period_of(run_id)
        periods.setdefault(period, []).append(run_id)
    return periods


def _claim(
    pipeline: Pipeline, ports: Ports, runner: Runner, dataset: str, period: str
) -> RunRecord:
    run_id = next_run_id()
    file = f"{PREFIX}{dataset}/{period}"
    record = new_run(runner, run_id, pipeline.name, dataset, file, f"compaction:{run_id}", 0)
    claimed = ports.runlog.claim(record)
    if claimed is None:  # cannot happen: the id is new
        raise TerminalError(f"compaction {run_id} could not be registered")
    return claimed


def _one(ctx: RunContext, members: list[str]) -> RunRecord:
    """Compact `members` (live, of one period) into the run `ctx.run`; commit; return it."""
    ports, run_ = ctx.ports, ctx.run
    dataset, storage, token = run_.dataset, ctx.ports.storage, ctx.run.run_id
    period = run_.file.rsplit("/", 1)[-1]
    path = run_file(dataset, token)
    at = now()
    step = Transition(
        state=COMPACT.name, status=Status.RUNNING, at=at, detail=f"{len(members)} files"
    )
    ctx.run = ports.runlog.update(
        run_.model_copy(
            update={
                "state": COMPACT.name,
                "history": [*run_.history, step],
                "lease_expires_at": at + LEASE,
            }
        )
    )
    try:
        rows, quarantined = _write(ctx, members, path)
    except Exception as exc:
        err = as_medalist_error(exc, COMPACT.name)
        for zone in STAGED_ZONES:
            storage.discard_staged(zone, keep=_running(ports) - {token})
        return _end(ctx, Status.FAILED, err)
    storage.publish("silver", path, token)
    if quarantined:
        storage.publish("quarantine", path, token)
    # The commit: from here readers see this file instead of the members' (live_runs).
    done = Transition(state=COMPACT.name, status=Status.SUCCEEDED, at=now())
    ctx.run = ports.runlog.update(
        ctx.run.model_copy(
            update={
                "outputs": {
                    "Compact": {
                        "members": members,
                        "period": period,
                        "rows": rows,
                        "quarantined": quarantined,
                        "silver_path": path,
                    }
                },
                "history": [*ctx.run.history, done],
            }
        )
    )
    return _end(ctx, Status.SUCCEEDED, None)


def _write(ctx: RunContext, members: list[str], path: str) -> tuple[int, int]:
    """The members' silver (latest row per key, as the view reads it) and quarantine rows into
    staged files; (silver rows, quarantine rows)."""
    engine, token = ctx.engine, ctx.run.run_id
    dataset, storage = ctx.run.dataset, ctx.ports.storage
    spec = ctx.pipeline.datasets[dataset]
    view = f"compact_{hashlib.sha1(dataset.encode()).hexdigest()[:8]}"
    wanted = set(members)
    counts = []
    zones: tuple[tuple[Zone, list[str]], ...] = (
        ("silver", list(spec.primary_key)),
        ("quarantine", []),
    )
    for zone, latest_by in zones:
        urls = [
            storage.url(zone, f.path)
            for f in storage.find(zone, f"{dataset}/*.parquet")
            if f.path.rsplit("/", 1)[-1].removesuffix(".parquet") in wanted
        ]
        if not urls:
            counts.append(0)
            continue
        engine.expose(INCOMING, view, urls, {}, latest_by)
        out = storage.staging_url(zone, path, token)
        counts.append(engine.materialize(f'SELECT * FROM {INCOMING}."{view}"', out))
    return counts[0], counts[1]


def _end(ctx: RunContext, status: Status, err: MedalistError | None) -> RunRecord:
    ended = now()
    history = ctx.run.history
    if err is not None:
        history = [
            *history,
            Transition(state=COMPACT.name, status=status, at=ended, detail=str(err)),
        ]
    ctx.run = ctx.ports.runlog.update(
        ctx.run.model_copy(
            update={
                "status": status,
                "ended_at": ended,
                "lease_owner": None,
                "lease_expires_at": None,
                "duration_s": work_s(ctx.run, ended),
                "error": err.to_dict() if err else None,
                "history": history,
            }
        )
    )
    return ctx.run


def _running(ports: Ports) -> set[str]:
    return {r.run_id for r in ports.runlog.list(status=Status.RUNNING, limit=None)}
