"""The controller (the S3-event Lambda in the AWS design): find new files, claim each one
exactly once, and run the workflow on it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ulid import ULID

from medalist.attention import Unmatched, unmatched_files
from medalist.batching import Pending, batchable, run_batch
from medalist.config import Pipeline
from medalist.leases import LEASE
from medalist.metastore import now
from medalist.notify.outbox import deliver_due
from medalist.runlog import ConcurrentUpdate, RunRecord, Status
from medalist.storage import StoredFile
from medalist.workflow.context import Ports, RunContext
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import LeaseLost, Runner

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
    runner = runner or Runner(INGEST)
    outcome = Outcome()
    settled_before = time.time() - settle_s
    landed_files = new_files(pipeline, ports)
    pending = Pending(pipeline)
    for dataset, landed in landed_files:
        if should_stop():
            break
        if _unchanged_since_last_run(ports, dataset, landed):
            continue
        if settle_s and landed.mtime > settled_before:
            outcome.settling.append(landed.path)
            continue
        file_hash = ports.storage.checksum("landing", landed.path)
        run, previous = _claim(pipeline, ports, runner, dataset, landed, file_hash)
        if run is None:
            if previous is not None and previous.status == Status.RUNNING:
                outcome.busy.append(landed.path)
            continue
        if previous is None and batchable(pipeline, ports, dataset, landed.size):
            if not pending.fits(run):
                execute_batch(pipeline, ports, runner, pending.take(), outcome, on_start)
            pending.runs.append(run)  # a burst of small files: they run together
            continue
        execute(pipeline, ports, runner, run, outcome, on_start)
    if pending.runs:
        execute_batch(pipeline, ports, runner, pending.take(), outcome, on_start)
    if not should_stop():
        from medalist.compaction import after_run  # it claims its runs through this module

        outcome.compacted = after_run(pipeline, ports, runner)
    outcome.unmatched = unmatched_files(pipeline, ports.storage, {f.path for _, f in landed_files})
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
    if len(runs) == 1:
        execute(pipeline, ports, runner, runs[0], outcome, on_start)
        return
    finished, alone, busy = run_batch(pipeline, ports, runner, runs, on_start)
    outcome.runs += finished
    outcome.busy += busy
    for ctx in alone:
        execute(pipeline, ports, runner, ctx.run, outcome)


def _unchanged_since_last_run(ports: Ports, dataset: str, landed: StoredFile) -> bool:
    """rsync's quick check: a path whose last finished run saw the same size and the same
    modification time is not hashed again. Without it every `medalist run` would re-read all of
    landing's history to learn that nothing is new."""
    last = ports.runlog.last_run(dataset, landed.path)
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
    runner: Runner,
    dataset: str,
    landed: StoredFile,
    file_hash: str,
) -> tuple[RunRecord | None, RunRecord | None]:
    """(run to execute, run that holds the file): a new run for the file, or the abandoned run
    of a dead owner, or (None, the holder)."""
    fresh = new_run(
        runner, next_run_id(), pipeline.name, dataset, landed.path, file_hash, landed.size
    ).model_copy(update={"file_mtime": landed.mtime})
    claimed = ports.runlog.claim(fresh)
    if claimed is not None:
        return claimed, None
    previous = ports.runlog.claimed_by(dataset, landed.path, file_hash)
    return take_over(ports, runner, previous), previous


_last_id = [0]


def next_run_id() -> str:
    """A new run id, above every one this process made before: files claimed within one
    millisecond (a burst) still sort in claim order, so latest-wins follows arrival; the
    random step leaves room between them for replays' ids (operate.replay_id)."""
    value = max(int(ULID()), _last_id[0] + 1 + secrets.randbits(32))
    _last_id[0] = value
    return str(ULID.from_int(value))


def new_run(
    runner: Runner,
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


def take_over(ports: Ports, runner: Runner, run: RunRecord | None) -> RunRecord | None:
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
