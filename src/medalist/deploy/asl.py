"""The workflow definition as Amazon States Language: the second executor of one definition.

Every TaskState of the Workflow (medalist.workflow.definition) becomes a Task with the state's
RetryPolicy as its `Retry` and a `Catch` to the failure path; nothing about the states is
written here. Outline (shared/DESIGN.md, decision 0023):

    Crawl ──► Transform ──► Load ──► RecordSuccess ──► NotifySuccess ──► Succeeded
      └──────────┴───────────┴── Catch States.ALL ──► RecordFailure ──► NotifyFailure ──► Failed

A burst of small files runs on a second machine (decision 0049): one Task runs the whole batch
(batching.py, with every state's retry policy in-process, as on Glue); its Catch records each
run still RUNNING as FAILED; alerts of a batch go through the outbox on every channel:

    RunBatch ──► Succeeded
      └── Catch States.ALL ──► RecordFailures ──► Failed

Record* invoke the finish function, which writes the outcome to the run log the way the local
runner does (one conditional update); Notify* publish what it returns to the SNS topic. ARNs
and names that differ per stack stay `${…}` placeholders, filled by CloudFormation's
DefinitionSubstitutions.
"""

from __future__ import annotations

from typing import Any, Literal

from medalist.workflow.definition import RetryPolicy, TaskState, Workflow

Compute = Literal["glue", "lambda"]

# The error names a state's handler raises (its exception class names, which Lambda reports as
# errorType): one per error kind of medalist.errors.
HANDLER_ERRORS = {"transient": "MedalistTransientError", "terminal": "MedalistTerminalError"}
# What Lambda and Glue themselves report when the service, not our code, failed for a moment.
SERVICE_TRANSIENT = {
    "lambda": (
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ),
    "glue": (
        "Glue.ConcurrentRunsExceededException",
        "Glue.ThrottlingException",
        "Glue.InternalServiceException",
        "Glue.OperationTimeoutException",
    ),
}
FINISH_RETRY = RetryPolicy(max_attempts=4, interval_s=2.0)
BATCH_RETRY = RetryPolicy(max_attempts=3, interval_s=5.0)

FAILED, SUCCEEDED = "Failed", "Succeeded"


def substitution(name: str) -> str:
    return "${" + name + "}"


def state_machine(workflow: Workflow, pipeline: str, compute: Compute = "glue") -> dict[str, Any]:
    """The ASL document of `workflow` for one pipeline, its tasks running on `compute`."""
    states: dict[str, Any] = {}
    names = [s.name for s in workflow.states]
    for i, state in enumerate(workflow.states):
        after = names[i + 1] if i + 1 < len(names) else "RecordSuccess"
        states[state.name] = _task(state, compute, after)
    states |= _outcome("SUCCEEDED", "RecordSuccess", "NotifySuccess", SUCCEEDED)
    states |= _outcome("FAILED", "RecordFailure", "NotifyFailure", FAILED)
    states[SUCCEEDED] = {"Type": "Succeed"}
    states[FAILED] = {
        "Type": "Fail",
        "Error": "MedalistRunFailed",
        "Cause": "A state failed; the run log and the FAIL notification hold its reason.",
    }
    return {
        "Comment": f"medalist pipeline {pipeline}: the {workflow.name} workflow, generated from "
        "medalist.workflow.definition (do not edit by hand).",
        "StartAt": names[0],
        "States": states,
    }


def batch_machine(pipeline: str, compute: Compute = "glue") -> dict[str, Any]:
    """The ASL document that runs one batch of small files (input `run_ids`, and `run_ids_csv`
    for Glue's string arguments) in one Task."""
    task: dict[str, Any] = {
        "Type": "Task",
        "Comment": "Crawl, Transform and Load of every file of the batch, each with its own run.",
    }
    if compute == "lambda":
        task |= {
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": substitution("StateFunctionArn"),
                "Payload": {"run_ids.$": "$.run_ids"},
            },
            "ResultSelector": {"runs.$": "$.Payload"},
        }
    else:
        task |= {
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {
                "JobName": substitution("StateJobName"),
                "Arguments": {"--run_ids.$": "$.run_ids_csv"},
            },
            "ResultSelector": {"job_run_id.$": "$.Id", "seconds.$": "$.ExecutionTime"},
        }
    task |= {
        "ResultPath": "$.batch",
        # Only the service's own hiccups: our errors are retried in-process per state, and a
        # retried Task resumes each run from what it committed (serverless.run_batch).
        "Retry": [_retrier(BATCH_RETRY, compute, ours=False)],
        "Catch": [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailures"}
        ],
        "Next": SUCCEEDED,
    }
    record = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": substitution("FinishFunctionArn"),
            "Payload": {"run_ids.$": "$.run_ids", "status": "FAILED", "error.$": "$.error"},
        },
        "ResultPath": "$.outcome",
        "Retry": [_retrier(FINISH_RETRY, "lambda")],
        "Next": FAILED,
    }
    return {
        "Comment": f"medalist pipeline {pipeline}: a batch of small files of one dataset, "
        "generated (do not edit by hand).",
        "StartAt": "RunBatch",
        "States": {
            "RunBatch": task,
            "RecordFailures": record,
            SUCCEEDED: {"Type": "Succeed"},
            FAILED: {
                "Type": "Fail",
                "Error": "MedalistBatchFailed",
                "Cause": "The batch's Task failed; each run's record and alert hold the reason.",
            },
        },
    }


def _task(state: TaskState, compute: Compute, after: str) -> dict[str, Any]:
    task: dict[str, Any] = {"Type": "Task", "Comment": state.comment}
    if compute == "lambda":
        task |= {
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": substitution("StateFunctionArn"),
                "Payload": {"run_id.$": "$.run_id", "state": state.name},
            },
            "ResultSelector": {"result.$": "$.Payload"},
        }
    else:  # the Glue job runs the medalist job script; .sync waits for the job run to end
        task |= {
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {
                "JobName": substitution("StateJobName"),
                "Arguments": {"--run_id.$": "$.run_id", "--state": state.name},
            },
            "ResultSelector": {"job_run_id.$": "$.Id", "seconds.$": "$.ExecutionTime"},
        }
    task |= {
        "ResultPath": f"$.states.{state.name}",
        "Retry": [_retrier(state.retry, compute)],
        "Catch": [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}
        ],
        "Next": after,
    }
    return task


def _retrier(policy: RetryPolicy, compute: Compute, ours: bool = True) -> dict[str, Any]:
    """A Step Functions Retrier from a RetryPolicy. MaxAttempts counts retries, the policy counts
    attempts. On Glue, a failed job run is only States.TaskFailed: the job script applies the
    policy to our own errors in-process (decision 0023), so the Retrier covers Glue's."""
    errors = list(SERVICE_TRANSIENT[compute])
    if compute == "lambda" and ours:
        errors = [HANDLER_ERRORS[kind] for kind in policy.retry_on] + errors
    return {
        "ErrorEquals": errors,
        "IntervalSeconds": max(1, round(policy.interval_s)),
        "MaxAttempts": max(0, policy.max_attempts - 1),
        "BackoffRate": policy.backoff_rate,
    }


def _outcome(status: str, record: str, notify: str, end: str) -> dict[str, Any]:
    """Record the run's outcome through the finish function, then publish its message."""
    payload: dict[str, Any] = {"run_id.$": "$.run_id", "status": status}
    if status == "FAILED":
        payload["error.$"] = "$.error"
    return {
        record: {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": substitution("FinishFunctionArn"), "Payload": payload},
            "ResultSelector": {"message.$": "$.Payload"},
            "ResultPath": "$.outcome",
            "Retry": [_retrier(FINISH_RETRY, "lambda")],
            "Next": notify,
        },
        notify: {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": substitution("AlertTopicArn"),
                "Subject.$": "$.outcome.message.subject",
                "Message.$": "$.outcome.message.body",
                "MessageAttributes.$": "$.outcome.message.attributes",
            },
            "ResultPath": None,
            "Retry": [
                {
                    "ErrorEquals": ["SNS.SdkClientException", "SNS.ThrottledException"],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 5,
                    "BackoffRate": 2.0,
                }
            ],
            "Next": end,
        },
    }


def structure_errors(asl: dict[str, Any]) -> list[str]:
    """What Step Functions would refuse or silently mis-run, beyond asl-validator's schema: a
    StartAt or Next naming no state, a Task without Retry or (outside the failure path)
    Catch, a state no path reaches."""
    states: dict[str, Any] = asl.get("States", {})
    problems = []
    if asl.get("StartAt") not in states:
        problems.append(f"StartAt names no state: {asl.get('StartAt')!r}")
    for name, state in states.items():
        targets = [state["Next"]] if "Next" in state else []
        targets += [c.get("Next") for c in state.get("Catch", [])]
        problems += [f"{name}: Next {t!r} names no state" for t in targets if t not in states]
        if state.get("Type") == "Task":
            if not state.get("Retry"):
                problems.append(f"{name}: a Task without Retry")
            if not state.get("Catch") and not _on_failure_path(name):
                problems.append(f"{name}: a Task without Catch")
        ends = state.get("Type") in ("Succeed", "Fail") or state.get("End")
        if "Next" not in state and not ends:
            problems.append(f"{name}: neither Next nor End")
    reached = _reachable(asl)
    problems += [f"{name}: no path reaches it" for name in states if name not in reached]
    return problems


def _on_failure_path(name: str) -> bool:
    # What runs after a Catch cannot catch into itself: a failure there fails the execution,
    # which the failed-executions alarm reports.
    return name in (
        "RecordFailure",
        "NotifyFailure",
        "RecordSuccess",
        "NotifySuccess",
        "RecordFailures",
    )


def _reachable(asl: dict[str, Any]) -> set[str]:
    states: dict[str, Any] = asl.get("States", {})
    seen: set[str] = set()
    todo: list[Any] = [asl.get("StartAt")]
    while todo:
        name = todo.pop()
        if not isinstance(name, str) or name in seen or name not in states:
            continue
        seen.add(name)
        todo += [states[name].get("Next")] + [c.get("Next") for c in states[name].get("Catch", [])]
    return seen
