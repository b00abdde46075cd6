"""Operator commands on runs that already exist: `retry` a FAILED run from where it halted,
`replay` files already processed (after a contract fix, say) so their rows replace the rows
their earlier runs wrote."""

from __future__ import annotations

import bisect
import secrets
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from ulid import ULID

from medalist.compaction import compacted_into, is_compaction
from medalist.config import Pipeline
from medalist.controller import Outcome, execute, new_run, take_over
from medalist.errors import NotFound, Refused
from medalist.leases import LEASE
from medalist.metastore import now
from medalist.runlog import ConcurrentUpdate, RunRecord, Status, Transition
from medalist.workflow.context import Ports
from medalist.workflow.runner import Runner

RETRY_REQUESTED = "retry requested"  # how a retry's own transition starts its detail
RETRY_SPACING_S = 10.0  # after a run's first retry, the next may start 10 s later ...
RETRY_SPACING_CAP_S = 900.0  # ... then 20 s, 40 s, ... at most 15 minutes apart


class RetryBusy(Refused):
    """The run is being retried (or resumed) by someone else right now: a 409 over HTTP."""


class RetryTooSoon(Refused):
    """The run was retried too recently (retries of one run are spaced out): a 429 over HTTP.
    `retry_after` is the number of seconds to wait."""

    def __init__(self, message: str, *, retry_after: float, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.retry_after = retry_after


def retries_so_far(run: RunRecord) -> tuple[int, datetime | None]:
    """(how many times the run was retried, when last): the last retry's transition carries
    the count in `attempt`, so this holds however much of the history was dropped."""
    for step in reversed(run.history):
        if step.detail and step.detail.startswith(RETRY_REQUESTED):
            return step.attempt, step.at
    return 0, None


def retry_wait(run: RunRecord, at: datetime) -> float:
    """Seconds until the run may be retried again: the spacing doubles with each retry
    (10 s, 20 s, 40 s, ... at most 15 min), so a script or a fuzzer retrying one failed run
    in a loop gets a handful of retries an hour instead of hundreds."""
    count, last = retries_so_far(run)
    if last is None:
        return 0.0
    spacing = min(RETRY_SPACING_S * 2 ** (count - 1), RETRY_SPACING_CAP_S)
    return max(0.0, (last + timedelta(seconds=spacing) - at).total_seconds())


def retry_run(
    pipeline: Pipeline,
    ports: Ports,
    runner: Runner,
    run_id: str,
    on_start: Callable[[RunRecord], None] | None = None,
) -> Outcome:
    """Rerun a FAILED run from the state where it halted, on the same file content, with the
    current pipeline.yaml (so a fixed contract or model applies). States it committed before
    failing are not redone."""
    run = ports.runlog.get(run_id)
    outcome = Outcome()
    if is_compaction(run):
        raise Refused(
            f"run {run.run_id} is a silver compaction, not a file's run",
            fix=f"`medalist compact {run.dataset}` compacts again (and finishes it if it was cut "
            "short).",
        )
    if run.status == Status.RUNNING:
        resumed = take_over(ports, runner, run)
        if resumed is None:
            raise RetryBusy(
                f"run {run.run_id} is RUNNING in {run.lease_owner}",
                fix="Wait for it; `medalist show` follows its states.",
            )
        execute(pipeline, ports, runner, resumed, outcome, on_start)
        return outcome
    if run.status == Status.SUCCEEDED:
        raise Refused(
            f"run {run.run_id} SUCCEEDED; there is nothing to retry",
            fix=f"To process {run.file} again, `medalist replay {run.dataset} --file {run.file}`.",
        )
    at = now()
    wait = retry_wait(run, at)
    if wait > 0:
        count, last = retries_so_far(run)
        ready = at + timedelta(seconds=wait)
        raise RetryTooSoon(
            f"run {run.run_id} was retried {count} time{'s' if count > 1 else ''}, last at "
            f"{last:%H:%M:%S} UTC; it may be retried again at {ready:%H:%M:%S} UTC",
            retry_after=wait,
            fix="Each retry of a run waits twice as long as the one before (at most 15 min): "
            "fix what made it fail first.",
        )
    _same_content(ports, run)
    step = Transition(
        state=run.state or "Crawl",
        status=Status.RUNNING,
        at=at,
        attempt=retries_so_far(run)[0] + 1,
        detail=f"{RETRY_REQUESTED} after FAILED at {run.state}",
    )
    try:
        claimed = ports.runlog.update(
            run.model_copy(
                update={
                    "status": Status.RUNNING,
                    "error": None,
                    "ended_at": None,
                    "duration_s": None,
                    "history": [*run.history, step],
                    "lease_owner": runner.owner,
                    "lease_expires_at": now() + LEASE,
                }
            )
        )
    except ConcurrentUpdate:
        raise RetryBusy(
            f"run {run.run_id} changed while being retried; another process retried it",
            fix="See `medalist show`.",
        ) from None
    execute(pipeline, ports, runner, claimed, outcome, on_start)
    return outcome


def replay_dataset(
    pipeline: Pipeline,
    ports: Ports,
    runner: Runner,
    dataset: str,
    since: date | None = None,
    file: str | None = None,
    on_start: Callable[[RunRecord], None] | None = None,
) -> Outcome:
    """Process again the files of `dataset` whose latest run is finished (SUCCEEDED or
    FAILED); with `since`, only runs started that day or later; with `file`, only that file.
    Each replay run replaces the earlier run: its silver and quarantine rows disappear when
    the replay commits, and the destination's silver table is refreshed from silver."""
    if dataset not in pipeline.datasets:
        raise NotFound(
            f"no dataset {dataset!r} in {pipeline.name}",
            fix=f"Datasets: {', '.join(pipeline.datasets)}.",
        )
    latest: dict[str, RunRecord] = {}
    runs = ports.runlog.list(dataset=dataset, limit=None)
    compacted = compacted_into(ports, dataset)
    for run in runs:
        if is_compaction(run):
            continue
        if run.file not in latest or run.run_id > latest[run.file].run_id:
            latest[run.file] = run
    taken = sorted(r.run_id for r in runs)
    chosen = [
        r
        for path, r in sorted(latest.items())
        if (file is None or path == file) and (since is None or r.started_at.date() >= since)
    ]
    if file is not None and not chosen:
        raise NotFound(
            f"no run of {dataset} processed {file!r}",
            fix=f"See `medalist runs --dataset {dataset}` for the files it processed.",
        )
    outcome = Outcome()
    for earlier in chosen:
        if earlier.status == Status.RUNNING:
            outcome.busy.append(earlier.file)
            continue
        if earlier.run_id in compacted:
            outcome.skipped.append(
                f"{earlier.file}: its rows were compacted into run {compacted[earlier.run_id]} "
                "with the rest of its month, so it cannot be replayed alone (decision 0029)"
            )
            continue
        try:
            _same_content(ports, earlier)
        except (NotFound, Refused) as why:
            outcome.skipped.append(f"{earlier.file}: {why.message}")
            continue
        replay = ports.runlog.claim(_replay_of(earlier, runner, replay_id(earlier.run_id, taken)))
        if replay is None:  # another process replayed or took the file meanwhile
            outcome.busy.append(earlier.file)
            continue
        bisect.insort(taken, replay.run_id)
        execute(pipeline, ports, runner, replay, outcome, on_start)
    return outcome


_RANDOM_BITS = 80  # a ULID: 48 bits of milliseconds, then 80 random bits


def replay_id(replaced: str, taken: Sequence[str], at: datetime | None = None) -> str:
    """The id of a replay of run `replaced`: after it and before every later run of its
    dataset (`taken`: their ids), so "latest wins" keeps following arrival order and a
    replayed Monday file still loses to Tuesday's corrections (decision 0004). Within that
    gap it takes the middle millisecond, so it shares no short prefix with the run it replays
    (Monday 09:00 and Tuesday 09:00 give Monday 21:00: the ids differ from the 5th character).
    Only when the next run came within 2 ms does it fall in the same or the next millisecond."""
    low = int(ULID.from_str(replaced))
    moment = at or now()
    ceiling = int(moment.timestamp() * 1000) << _RANDOM_BITS  # nothing later exists yet
    high = min([int(ULID.from_str(i)) for i in taken if i > replaced] + [ceiling])
    low_ms, high_ms = low >> _RANDOM_BITS, high >> _RANDOM_BITS
    if high_ms - low_ms >= 2:
        value = ((low_ms + high_ms) // 2) << _RANDOM_BITS | secrets.randbits(_RANDOM_BITS)
    else:
        value = low + 1 + (secrets.randbelow(high - low - 1) if high - low > 1 else 0)
    return str(ULID.from_int(value))


def _replay_of(earlier: RunRecord, runner: Runner, run_id: str) -> RunRecord:
    """A new run of the earlier run's file, replacing it."""
    return new_run(
        runner,
        run_id,
        earlier.pipeline,
        earlier.dataset,
        earlier.file,
        earlier.file_hash,
        earlier.file_bytes,
        replaces=earlier.run_id,
    ).model_copy(update={"file_mtime": earlier.file_mtime})


def _same_content(ports: Ports, run: RunRecord) -> None:
    """The run's file must still be in landing with the content the run claimed."""
    try:
        current = ports.storage.checksum("landing", run.file)
    except FileNotFoundError:
        raise NotFound(
            f"landing/{run.file} is no longer in landing",
            path=f"landing/{run.file}",
            fix="Put the file back to rerun it.",
        ) from None
    if current != run.file_hash:
        raise Refused(
            f"landing/{run.file} changed since run {run.run_id} read it",
            path=f"landing/{run.file}",
            fix="`medalist run` processes the new content as a new run.",
        )
