"""`medalist aws status`: the recent runs of a deployed pipeline, each beside its Step Functions
execution, and what it means when the two disagree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from medalist.errors import ConfigError
from medalist.runlog import RunRecord, Status

ENDED_BADLY = {"FAILED", "TIMED_OUT", "ABORTED"}


@dataclass(frozen=True)
class Line:
    run: RunRecord
    execution: str  # its name ("" when none was started)
    execution_status: str
    note: str


def machine_arn(sfn: Any, stack: str | None, arn: str | None) -> str:
    """The state machine: as given, or the stack's (the template names it STACK-ingest)."""
    if arn:
        return arn
    if not stack:
        raise ConfigError(
            "which deployment? neither --stack nor --state-machine was given",
            fix="Pass --stack NAME (as given to `medalist aws deploy`) or --state-machine ARN.",
        )
    wanted = f"{stack}-ingest"
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == wanted:
                return str(machine["stateMachineArn"])
    raise ConfigError(
        f"no state machine {wanted} in this account and region",
        fix="Check --stack and --region; `medalist aws deploy` creates it.",
    )


def executions(sfn: Any, arn: str, limit: int) -> list[dict[str, Any]]:
    """The newest executions of the machine (Step Functions lists newest first)."""
    found: list[dict[str, Any]] = []
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
    for page in pages:
        found += page["executions"]
        if len(found) >= limit:
            break
    return found[:limit]


def batch_machine_arn(sfn: Any, ingest: str) -> str | None:
    """The stack's batch machine beside its ingest machine (`STACK-batch`), if it has one."""
    if not ingest.endswith("-ingest"):
        return None
    arn = ingest.removesuffix("-ingest") + "-batch"
    try:
        sfn.describe_state_machine(stateMachineArn=arn)
    except sfn.exceptions.StateMachineDoesNotExist:
        return None  # a stack from before batch machines (decision 0049)
    return arn


def lines(runs: Iterable[RunRecord], listed: list[dict[str, Any]]) -> list[Line]:
    """Each run with its latest execution: named after the run id, or `RUNID-resume-…` when
    the sweep resumed it, or, for a run of a batch, the batch's execution (named after its
    first run, which leases every run of the batch while it runs: decision 0049)."""
    latest: dict[str, dict[str, Any]] = {}
    for execution in listed:
        run_id = str(execution["name"]).split("-resume-")[0]
        seen = latest.get(run_id)
        if seen is None or _started(execution) > _started(seen):
            latest[run_id] = execution
    found = []
    for run in runs:
        mine = latest.get(run.run_id)
        if mine is None and run.lease_owner and run.lease_owner.startswith("sfn:"):
            mine = latest.get(run.lease_owner.removeprefix("sfn:"))
        status = str(mine["status"]) if mine else ""
        found.append(Line(run, str(mine["name"]) if mine else "", status, note(run, status)))
    return found


def note(run: RunRecord, execution: str) -> str:
    if run.status == Status.RUNNING:
        if not execution:
            return "claimed, no execution: the daily sweep starts one once the lease lapses"
        if execution in ENDED_BADLY:
            return f"execution {execution}: the daily sweep resumes the run once its lease lapses"
        return ""
    if execution == "RUNNING":
        return "recorded, the execution is still notifying"
    if execution and execution != run.status.value and execution not in ENDED_BADLY:
        return f"run log says {run.status.value}, the execution {execution}"
    return ""


def _started(execution: dict[str, Any]) -> datetime:
    started = execution.get("startDate")
    return started if isinstance(started, datetime) else datetime.min.replace(tzinfo=UTC)
