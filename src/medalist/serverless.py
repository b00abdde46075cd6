"""The workflow as Step Functions runs it: the controller claims files and starts one execution
per run; each Task runs one state; the finish task records the outcome. The same claiming,
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
    start: Callable[[RunRecord, str], bool],
    keys: set[str] | None,
) -> Started:
    """Claim each new landed file (only `keys`, or all of landing) and start its execution;
    resume a claimed run whose execution is gone. `start(run, name)` starts the execution named
    `name` for the run and returns False if an execution of that name already exists, so a
    duplicate event starts nothing. The claiming is `medalist run`'s (controller.claims), with
    the run's execution as its lease holder."""
    started, outcome = Started(), Outcome()
    for run, resumed in claims(pipeline, ports, execution_owner, outcome, keys=keys):
        name = run.run_id
        if resumed:  # a new execution of the same run: its committed states are kept
            attempt = sum(1 for step in run.history if step.state == "Crawl" and step.attempt == 1)
            name = f"{run.run_id}-resume-{attempt}-{ULID()}"
        if start(run, name):
            started.runs.append(run)
            with logged(run_id=run.run_id, dataset=run.dataset, state="Start"):
                log(f"{'resumed' if resumed else 'claimed'} {run.file}", execution=name)
    started.skipped = outcome.busy
    return started


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
