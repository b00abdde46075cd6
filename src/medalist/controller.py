"""The controller (the S3-event Lambda in the AWS design): find new files, claim each one
exactly once, and run the workflow on it.

The claiming (`claims`) imports nothing heavy: the deployed controller function ships without
DuckDB, Arrow or NumPy (decision 0035). The engine and the states are imported only where a
run is executed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ulid import ULID

from medalist.attention import Unmatched, unmatched_files
from medalist.config import Pipeline
from medalist.leases import LEASE
from medalist.metastore import now
from medalist.notify.outbox import deliver_due
from medalist.runlog import ConcurrentUpdate, RunRecord, Status
from medalist.storage import StoredFile

if TYPE_CHECKING:
    from medalist.workflow.context import Ports
    from medalist.workflow.runner import Runner

QUICK_CHECK_MARGIN_S = 2.0


@dataclass
class Outcome:
    """What one `medalist run` did."""

    runs: list[RunRecord] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # files a live process is working on
    skipped: list[str] = field(default_factory=list)  # why a requested file was not run
    settling: list[str] = field(default_factory=list)  # modified too recently to read yet
    unmatched: list[Unmatched] = field(default_factory=list)  # in landing, read by no dataset
    compacted: list[RunRecord] = field(default_factory=list)  # silver compactions (0029)

    @property
    def failed(self) -> list[RunRecord]:
        return [r for r in self.runs if r.status == Status.FAILED]


def new_files(pipeline: Pipeline, ports: Ports) -> list[tuple[str, StoredFile]]:
    """(dataset, file) for landed files that match a source, oldest name first."""
    found = []
    for name, spec in pipeline.datasets.items():
        found += [(name, f) for f in ports.storage.find("landing", spec.source)]
    return found


class Owner(Protocol):
    """Whoever holds a run's lease: a Runner, or a Step Functions execution."""

    @property
    def owner(self) -> str: ...


@dataclass(frozen=True)
class LeaseHolder:
    owner: str


def claims(
    pipeline: Pipeline,
    ports: Ports,
    owner_for: Callable[[str], str],
    outcome: Outcome,
    *,
    keys: set[str] | None = None,
    settle_s: float = 0.0,
    should_stop: Callable[[], bool] = lambda: False,
    landed_files: list[tuple[str, StoredFile]] | None = None,
) -> Iterator[tuple[RunRecord, bool]]:
    """(run, resumed) for each landed file this caller now owns, one at a time: a new run
    claimed for it, or the run of a dead owner taken over (resumed). `owner_for(run_id)` names
    the lease holder. Only `keys` when given (the paths an event named), else all of landing.
    Files held by a live owner go to outcome.busy, files still being written to
    outcome.settling. Lazy: the caller works on each run before the next file is claimed.
    `landed_files`: the listing to use, if the caller already has one."""
    settled_before = time.time() - settle_s
    if landed_files is None:
        landed_files = new_files(pipeline, ports)
    wanted = [(d, f) for d, f in landed_files if keys is None or f.path in keys]
    last: dict[str, dict[str, RunRecord]] = {}  # dataset -> path -> its newest run
    for dataset, landed in wanted:
        if should_stop():
            return
        if dataset not in last:
            paths = [f.path for d, f in wanted if d == dataset]
            last[dataset] = ports.runlog.last_runs(dataset, paths)
        if _unchanged_since_last_run(last[dataset].get(landed.path), landed):
            continue
        if settle_s and landed.mtime > settled_before:
            outcome.settling.append(landed.path)
            continue
        file_hash = ports.storage.checksum("landing", landed.path)
        run, previous = _claim(pipeline, ports, None, dataset, landed, file_hash, owner_for)
        if run is not None:
            yield run, previous is not None
        elif previous is not None and previous.status == Status.RUNNING:
            outcome.busy.append(landed.path)


def run_pipeline(
    pipeline: Pipeline,
    ports: Ports,
    runner: Runner | None = None,
    on_start: Callable[[RunRecord], None] | None = None,
    *,
    settle_s: float = 0.0,
    should_stop: Callable[[], bool] = lambda: False,
) -> Outcome:
    """Process every landed file not yet processed; each in its own run, small files of a
    dataset batched (pipeline.batch).

    `settle_s`: leave files modified less than this long ago for later (they may still be
    being copied). `should_stop`: checked between files, to stop after the current run."""
    from medalist.batch_bounds import Pending, batchable
    from medalist.workflow.definition import INGEST
    from medalist.workflow.runner import Runner

    chosen = runner or Runner(INGEST)
    outcome = Outcome()
    landed_files = new_files(pipeline, ports)
    found = claims(
        pipeline,
        ports,
        lambda _: chosen.owner,
        outcome,
        settle_s=settle_s,
        should_stop=should_stop,
        landed_files=landed_files,
    )
    pending = Pending(pipeline, ports)
    for run, resumed in found:
        if not resumed and batchable(pipeline, ports, run.dataset, run.file_bytes):
            if not pending.fits(run):
                execute_batch(pipeline, ports, chosen, pending.take(), outcome, on_start)
            pending.runs.append(run)  # a burst of small files: they run together
            continue
        execute(pipeline, ports, chosen, run, outcome, on_start)
    if pending.runs:
        execute_batch(pipeline, ports, chosen, pending.take(), outcome, on_start)
    if not should_stop():
        from medalist.compaction import after_run  # it claims its runs through this module

        outcome.compacted = after_run(pipeline, ports, chosen)
    landed = {f.path for _, f in landed_files}
    outcome.unmatched = unmatched_files(pipeline, ports.storage, landed)
    deliver_due(ports.outbox, ports.notifiers)  # alerts still waiting from earlier runs
    return outcome


def execute(
    pipeline: Pipeline,
    ports: Ports,
    runner: Runner,
    run: RunRecord,
    outcome: Outcome,
    on_start: Callable[[RunRecord], None] | None = None,
) -> None:
    """Run the workflow on a claimed run and record what happened in `outcome`."""
    from medalist.workflow.context import RunContext
    from medalist.workflow.runner import LeaseLost

    if on_start:
        on_start(run)
    engine = ports.engine()
    try:
        outcome.runs.append(runner.execute(RunContext(pipeline, run, ports, engine)))
    except LeaseLost:  # presumed dead and taken over: the other process finishes it
        outcome.busy.append(run.file)
    finally:
        engine.close()


def execute_batch(
    pipeline: Pipeline,
    ports: Ports,
    runner: Runner,
    runs: list[RunRecord],
    outcome: Outcome,
    on_start: Callable[[RunRecord], None] | None = None,
) -> None:
    """Run claimed runs of one dataset together (medalist/batching.py); those the batch hands
    back (it split) go on alone from the state they have committed."""
    from medalist.batching import run_batch

    if len(runs) == 1:
        execute(pipeline, ports, runner, runs[0], outcome, on_start)
        return
    finished, alone, busy = run_batch(pipeline, ports, runner, runs, on_start)
    outcome.runs += finished
    outcome.busy += busy
    for ctx in alone:
        execute(pipeline, ports, runner, ctx.run, outcome)


def _unchanged_since_last_run(last: RunRecord | None, landed: StoredFile) -> bool:
    """rsync's quick check: a path whose last finished run (`last`) saw the same size and the
    same modification time is not hashed again. Without it every `medalist run` would re-read
    all of landing's history to learn that nothing is new."""
    if last is None or last.status == Status.RUNNING or last.file_bytes != landed.size:
        return False
    if landed.etag and last.file_hash.split(":")[0] in ("md5", "etag"):
        # The listing names the content (S3's ETag is the identity, decision 0016): exact, and
        # a rewrite of the same size within the same second is seen, which mtime would miss.
        return f":{landed.etag}:" in last.file_hash
    if last.file_mtime is not None:
        return last.file_mtime == landed.mtime
    # Runs recorded before file_mtime existed: not modified since shortly before that run.
    # The margin covers a rewrite between hashing and the run's start (same size, new bytes).
    return landed.mtime < last.started_at.timestamp() - QUICK_CHECK_MARGIN_S


def _claim(
    pipeline: Pipeline,
    ports: Ports,
    runner: Owner | None,
    dataset: str,
    landed: StoredFile,
    file_hash: str,
    owner_for: Callable[[str], str] | None = None,
) -> tuple[RunRecord | None, RunRecord | None]:
    """(run to execute, run that holds the file): a new run for the file, or the abandoned run
    of a dead owner, or (None, the holder). The lease goes to `runner`, or to
    `owner_for(run_id)` when the holder's name depends on the run."""
    name = owner_for or (lambda _: runner.owner if runner else "")
    run_id = next_run_id()
    fresh = new_run(
        LeaseHolder(name(run_id)),
        run_id,
        pipeline.name,
        dataset,
        landed.path,
        file_hash,
        landed.size,
    ).model_copy(update={"file_mtime": landed.mtime})
    claimed = ports.runlog.claim(fresh)
    if claimed is not None:
        return claimed, None
    previous = ports.runlog.claimed_by(dataset, landed.path, file_hash)
    if previous is None:
        return None, None
    return take_over(ports, LeaseHolder(name(previous.run_id)), previous), previous


_last_id = [0]


def next_run_id() -> str:
    """A new run id, above every one this process made before: files claimed within one
    millisecond (a burst) still sort in claim order, so latest-wins follows arrival; the
    random step leaves room between them for replays' ids (operate.replay_id)."""
    value = max(int(ULID()), _last_id[0] + 1 + secrets.randbits(32))
    _last_id[0] = value
    return str(ULID.from_int(value))


def new_run(
    runner: Owner,
    run_id: str,
    pipeline: str,
    dataset: str,
    file: str,
    file_hash: str,
    file_bytes: int,
    replaces: str | None = None,
) -> RunRecord:
    """A run record about to be claimed: starting now, leased to `runner`."""
    started = now()
    return RunRecord(
        run_id=run_id,
        pipeline=pipeline,
        dataset=dataset,
        file=file,
        file_hash=file_hash,
        file_bytes=file_bytes,
        started_at=started,
        lease_owner=runner.owner,
        lease_expires_at=started + LEASE,
        replaces=replaces,
    )


def take_over(ports: Ports, runner: Owner, run: RunRecord | None) -> RunRecord | None:
    """The run, now owned by `runner`, if it is RUNNING and its owner is gone; else None.
    The update is conditional on the record's version: of two triggers, one wins. States then
    resume after the last committed one (docs/decisions/0004-commit-protocol.md)."""
    if run is None or run.status != Status.RUNNING:
        return None
    if not ports.liveness.gone(run.lease_owner, run.lease_expires_at):
        return None
    try:
        return ports.runlog.update(
            run.model_copy(update={"lease_owner": runner.owner, "lease_expires_at": now() + LEASE})
        )
    except ConcurrentUpdate:  # another trigger took it over first
        return None
