"""The workflow as Step Functions runs it: the controller claims files and starts one execution
per run (or one per batch of small files); each Task runs one state (or a whole batch); the
finish task records the outcome. The same claiming,
states and outcome code as `medalist run` (controller.py, workflow/runner.py), with the
execution as the run's lease holder instead of a local process (decision 0023).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote_plus

from ulid import ULID

from medalist.aws_logs import annotate, log, logged, run_metrics, state_metrics
from medalist.batch_bounds import Pending, batchable
from medalist.config import Pipeline
from medalist.controller import Outcome, claims
from medalist.errors import MedalistError, TerminalError
from medalist.notify import run_message
from medalist.runlog import RunRecord, Status

if TYPE_CHECKING:  # the controller function imports this module without the engine (0035)
    from medalist.engine import Engine
    from medalist.workflow.context import Ports
    from medalist.workflow.runner import Runner


class MedalistTransientError(Exception):
    """Raised by a state's handler for an error worth retrying: its class name is the error
    type Lambda reports and the state machine's Retry names."""


class MedalistTerminalError(Exception):
    """Raised by a state's handler for an error retrying cannot help: straight to the Catch."""


def execution_owner(run_id: str) -> str:
    """Every Task of one run's execution holds the run's lease under this one name."""
    return f"sfn:{run_id}"


def runner_for(run_id: str) -> Runner:
    from medalist.workflow.definition import INGEST
    from medalist.workflow.runner import Runner

    runner = Runner(INGEST)
    runner.owner = execution_owner(run_id)
    return runner


@dataclass
class Started:
    runs: list[RunRecord] = field(default_factory=list)  # executions started (new or resumed)
    skipped: list[str] = field(default_factory=list)  # landed files already claimed and alive


def landed_keys(event: dict[str, Any], landing_prefix: str) -> set[str] | None:
    """Landing paths named by an event: SQS records carrying EventBridge "Object Created"
    events or S3 notifications (whose keys arrive URL-encoded); None for the scheduled sweep,
    which looks at all of landing."""
    if event.get("sweep"):
        return None
    keys: set[str] = set()
    for record in event.get("Records", []):
        body = json.loads(record["body"]) if "body" in record else record
        if "detail" in body:  # EventBridge: keys as they are
            keys.add(body["detail"]["object"]["key"])
        for inner in body.get("Records", []):  # S3 notification: keys URL-encoded
            if "s3" in inner:
                keys.add(unquote_plus(inner["s3"]["object"]["key"]))
    prefix = landing_prefix.strip("/") + "/" if landing_prefix.strip("/") else ""
    return {k.removeprefix(prefix) for k in keys if k.startswith(prefix)}


def claim_and_start(
    pipeline: Pipeline,
    ports: Ports,
    start: Callable[[list[RunRecord], str], bool],
    keys: set[str] | None,
) -> Started:
    """Claim each new landed file (only `keys`, or all of landing) and start its execution;
    resume a claimed run whose execution is gone. Fresh small files of one dataset waiting
    together start ONE batch execution (bounded as `medalist run` bounds a batch: decisions
    0028, 0043, 0049). `start(runs, name)` starts the execution named `name` for the runs
    (one run: the ingest machine; several: the batch machine) and returns False if an
    execution of that name already exists, so a duplicate event starts nothing. The claiming
    is `medalist run`'s (controller.claims), each run leased to its own execution's name."""
    started, outcome = Started(), Outcome()
    pending = Pending(pipeline, ports)

    def launch(runs: list[RunRecord], name: str, how: str) -> None:
        if start(runs, name):
            started.runs += runs
            for run in runs:
                with logged(run_id=run.run_id, dataset=run.dataset, state="Start"):
                    log(f"{how} {run.file}", execution=name)

    for run, resumed in claims(pipeline, ports, execution_owner, outcome, keys=keys):
        if resumed:  # a new execution of the same run: its committed states are kept
            attempt = sum(1 for step in run.history if step.state == "Crawl" and step.attempt == 1)
            launch([run], f"{run.run_id}-resume-{attempt}-{ULID()}", "resumed")
        elif batchable(pipeline, ports, run.dataset, run.file_bytes):
            if not pending.fits(run):
                runs = pending.take()
                launch(runs, runs[0].run_id, "claimed")
            pending.runs.append(run)
        else:
            launch([run], run.run_id, "claimed")
    if pending.runs:
        runs = pending.take()
        launch(runs, runs[0].run_id, "claimed")
    started.skipped = outcome.busy
    return started


def run_batch(pipeline: Pipeline, ports: Ports, run_ids: list[str]) -> dict[str, Any]:
    """The batch machine's one Task: the runs through `medalist run`'s batch (batching.py),
    leased to this execution; those the batch hands back (a split), and any run an earlier
    attempt of this Task already took past its claim, go on alone from what they committed.
    Every run's outcome and alerts (every channel: the batch machine has no Notify states)
    are recorded here, so a finished run is never run again."""
    from medalist.batching import run_batch as run_together
    from medalist.workflow.context import RunContext

    runner = runner_for(run_ids[0])
    with logged(run_id=run_ids[0], state="Batch"):
        runs = [ports.runlog.get(run_id) for run_id in run_ids]
        waiting = [r for r in runs if r.status == Status.RUNNING]
        fresh = [r for r in waiting if not r.history]
        alone = [r for r in waiting if r.history]
        log(f"batch of {len(fresh)} files, {len(alone)} resumed alone", runs=run_ids)
        if len(fresh) > 1:
            _, split, busy = run_together(pipeline, ports, runner, fresh)
            alone += [ctx.run for ctx in split]
            if busy:
                log(f"taken over by another execution: {', '.join(busy)}", "WARNING")
        else:
            alone += fresh
        for run in alone:
            engine = ports.engine()
            try:
                runner.execute(RunContext(pipeline, run, ports, engine))
            finally:
                engine.close()
    ended = {run_id: ports.runlog.get(run_id) for run_id in run_ids}
    return {run_id: {"status": r.status.value, "state": r.state} for run_id, r in ended.items()}


def fail_batch(
    pipeline: Pipeline, ports: Ports, run_ids: list[str], error: dict[str, Any] | None
) -> dict[str, Any]:
    """The batch machine's Catch: every run still RUNNING is FAILED with what Step Functions
    caught (the Task timed out, ran out of memory, the service failed), its alerts sent."""
    with logged(run_id=run_ids[0], state="Finish"):
        for run_id in run_ids:
            run = ports.runlog.get(run_id)
            if run.status == Status.RUNNING:
                run = _record(pipeline, ports, run, Status.FAILED.value, error, ())
                log(f"run {run.status.value} in {run.state}", status=run.status.value)
                run_metrics(run)
    return {"failed": run_ids}


def run_state(
    pipeline: Pipeline, ports: Ports, run_id: str, state: str, *, retry: bool
) -> dict[str, Any]:
    """One Task: run and commit `state` of the run. A medalist error is raised as the class the
    state machine's Retry and Catch match (its message keeps the file, row, column and fix)."""
    from medalist.workflow.context import RunContext

    with logged(run_id=run_id, state=state):
        run = ports.runlog.get(run_id)
        annotate(dataset=run.dataset)
        log(f"{state} of {run.file} started")
        started = time.monotonic()
        engine = ports.engine()
        try:
            result = runner_for(run_id).run_state(
                RunContext(pipeline, run, ports, engine), state, retry=retry
            )
        except MedalistError as err:
            log(f"{state} failed: {err}", "ERROR", kind=err.kind)
            kind = MedalistTransientError if err.kind == "transient" else MedalistTerminalError
            raise kind(str(err)) from err
        finally:
            engine.close()
            state_metrics(run, state, time.monotonic() - started)
        log(f"{state} committed", result=result.to_dict())
    return {"run_id": run_id, "state": state, "result": result.to_dict()}


def finish(
    pipeline: Pipeline,
    ports: Ports,
    run_id: str,
    status: str,
    error: dict[str, Any] | None,
    published_by_workflow: Iterable[str] = (),
) -> dict[str, Any]:
    """Record the run's outcome (idempotent: a retried finish returns the same message), queue
    its alerts for every channel but those the workflow publishes to itself, and return the
    message NotifySuccess/NotifyFailure publish."""
    from medalist.notify.sns import fit, message_attributes, sns_subject

    with logged(run_id=run_id, state="Finish"):
        run = ports.runlog.get(run_id)
        annotate(dataset=run.dataset)
        if run.status == Status.RUNNING:
            run = _record(pipeline, ports, run, status, error, published_by_workflow)
            log(f"run {run.status.value} in {run.state}", status=run.status.value)
            run_metrics(run)
    message = run_message(run, pipeline.dashboard_url)
    return {
        "subject": sns_subject(message),
        "body": fit(message, 256 * 1024),
        "attributes": message_attributes(message),
    }


def _record(
    pipeline: Pipeline,
    ports: Ports,
    run: RunRecord,
    status: str,
    error: dict[str, Any] | None,
    published_by_workflow: Iterable[str],
) -> RunRecord:
    """The outcome through the runner (the local runner's conditional update and alerts)."""
    from medalist.workflow.context import RunContext

    runner = runner_for(run.run_id)
    runner.skip_channels = set(published_by_workflow)
    err = _halt_error(run, error) if status == Status.FAILED else None
    # Recording an outcome reads no data: no engine, so the finish function ships in the
    # slim package without DuckDB or Arrow (decision 0035).
    ctx = RunContext(pipeline, run, ports, cast("Engine", _NoEngine()))
    return runner.finish(ctx, Status(status), err)


class _NoEngine:
    """The engine of a context that must not read data: any use is a bug of ours, said so."""

    def __getattr__(self, name: str) -> Any:
        raise MedalistError(f"recording a run's outcome used the engine ({name})")


def _halt_error(run: RunRecord, caught: dict[str, Any] | None) -> MedalistError:
    """Why the run halted: what the state's handler recorded, else what Step Functions caught
    (a handler that never ran: timeout, out of memory, the service failing)."""
    if run.error:
        return _Recorded(run.error, run.state)
    caught = caught or {}
    cause = caught.get("Cause", "")
    with contextlib.suppress(ValueError, AttributeError):
        cause = json.loads(cause).get("errorMessage", cause)
    return TerminalError(f"{caught.get('Error', 'States.TaskFailed')}: {cause}", state=run.state)


class _Recorded(TerminalError):
    """An error a state's handler already recorded, kept as it was (file, row, rule, fix)."""

    def __init__(self, recorded: dict[str, Any], state: str | None) -> None:
        super().__init__(str(recorded.get("message") or "failed"), state=state)
        self.recorded = recorded

    def render(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {**self.recorded, "state": self.recorded.get("state") or self.state}
