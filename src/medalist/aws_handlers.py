"""AWS Lambda entry points (the template's Handler values). Each loads the pipeline packaged
beside it once per warm container and calls medalist.serverless with the AWS adapters.

Environment (set by the template): MEDALIST_CONFIG (pipeline.yaml), MEDALIST_STATE_MACHINE
(the ARN a run's execution starts on), MEDALIST_BATCH_STATE_MACHINE (the ARN a batch of small
files starts on, decision 0049), MEDALIST_ALERT_TOPIC (the topic the state machine publishes
to).
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import TYPE_CHECKING, Any

from medalist import serverless
from medalist.aws_logs import log, logged
from medalist.config import Pipeline, read_pipeline, resolve_config_path
from medalist.leases import LeaseExpiry
from medalist.runlog import RunRecord

if TYPE_CHECKING:  # the controller imports nothing of the engine (decision 0035)
    from medalist.workflow.context import Ports


def _loaded() -> tuple[Pipeline, Ports]:
    return _load(os.environ.get("MEDALIST_CONFIG"))


@cache
def _load(config: str | None) -> tuple[Pipeline, Ports]:
    from medalist.wiring import open_ports

    # Validated whole by `medalist aws package`, which shipped exactly this file: the checks
    # that need DuckDB and sqlglot are not run again in the slim functions (decision 0035).
    pipeline = read_pipeline(resolve_config_path(config))
    ports = open_ports(pipeline)
    ports.liveness = LeaseExpiry()  # hostnames and PIDs mean nothing across Lambda sandboxes
    return pipeline, ports


def controller(event: dict[str, Any], context: object) -> dict[str, Any]:
    """S3 events (through EventBridge and SQS) or the daily sweep: claim new files, start one
    execution per run, or one per batch of small files of a dataset."""
    pipeline, ports = _loaded()
    sfn = pipeline.aws_target.client("stepfunctions")
    machine = os.environ["MEDALIST_STATE_MACHINE"]
    batches = os.environ.get("MEDALIST_BATCH_STATE_MACHINE")

    def start(runs: list[RunRecord], name: str) -> bool:
        ids = [run.run_id for run in runs]
        arn, given = machine, dict[str, Any](run_id=ids[0])
        if len(ids) > 1:
            if batches is None:  # a stack from before batch machines: one execution each
                return any([start([run], run.run_id) for run in runs])
            arn, given = batches, {"run_ids": ids, "run_ids_csv": ",".join(ids)}
        try:
            sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(given))
        except sfn.exceptions.ExecutionAlreadyExists:
            return False
        return True

    prefix = pipeline.zone_url("landing").split("://", 1)[-1].partition("/")[2]
    keys = serverless.landed_keys(event, prefix)
    with logged(state="Controller"):
        done = serverless.claim_and_start(pipeline, ports, start, keys)
        log(
            f"started {len(done.runs)} runs, {len(done.skipped)} files busy",
            sweep=keys is None,
            busy=done.skipped,
        )
    return {
        "started": [r.run_id for r in done.runs],
        "busy": done.skipped,
        "batchItemFailures": [],
    }


def run_state(event: dict[str, Any], context: object) -> dict[str, Any]:
    """One Task of the state machine (compute: lambda): retries are the state machine's. The
    batch machine's Task sends `run_ids`: the whole batch, in this one invocation."""
    pipeline, ports = _loaded()
    if "run_ids" in event:
        return serverless.run_batch(pipeline, ports, event["run_ids"])
    return serverless.run_state(pipeline, ports, event["run_id"], event["state"], retry=False)


def finish(event: dict[str, Any], context: object) -> dict[str, Any]:
    """RecordSuccess / RecordFailure: the outcome in the run log, the message to publish."""
    pipeline, ports = _loaded()
    if "run_ids" in event:  # the batch machine's Catch: no Notify state, every channel queued
        return serverless.fail_batch(pipeline, ports, event["run_ids"], event.get("error"))
    topic = os.environ.get("MEDALIST_ALERT_TOPIC", "")
    own = {
        name
        for name, spec in _channels(pipeline).items()
        if getattr(spec, "topic_arn", None) == topic
    }
    return serverless.finish(
        pipeline, ports, event["run_id"], event["status"], event.get("error"), own
    )


def _channels(pipeline: Pipeline) -> dict[str, Any]:
    from medalist.notify import channels

    return dict(channels(pipeline))
