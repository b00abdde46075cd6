"""Deploy the generated template: upload the artifacts, create or update the stack through a
change set, follow its events until it settles, and read back its outputs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medalist.aws import AwsTarget, aws_error
from medalist.errors import ConfigError, MedalistError, TerminalError

DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
FAILED = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_COMPLETE",
    "DELETE_FAILED",
}
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class Deployed:
    stack: str
    status: str
    outputs: dict[str, str]
    changes: int  # resources the change set touched (0: the stack was already up to date)


def upload(
    target: AwsTarget, bucket: str, prefix: str, artifacts: Path, names: list[str]
) -> list[str]:
    """Put the named files of the artifacts folder under s3://bucket/prefix; the keys written."""
    s3 = target.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:
        raise aws_error(exc, f"artifact bucket {bucket}", target) from None
    missing = [name for name in names if not (artifacts / name).is_file()]
    if missing or not names:
        raise ConfigError(
            f"{artifacts} lacks {', '.join(missing) or 'every artifact'}",
            fix="Build them again: medalist aws package -c pipeline.yaml -o " + str(artifacts),
        )
    keys = []
    for name in sorted(names):
        key = prefix + name
        try:
            s3.upload_file(str(artifacts / name), bucket, key)
        except Exception as exc:
            raise aws_error(exc, f"artifact bucket {bucket}", target) from None
        keys.append(key)
    return keys


def deploy(
    target: AwsTarget,
    stack: str,
    template_body: str,
    parameters: dict[str, str],
    progress: Callable[[str], None] = print,
    poll_s: float = 2.0,
    timeout_s: float = 3600,
) -> Deployed:
    """Create or update `stack` through a change set and wait for it to settle."""
    cfn = target.client("cloudformation")
    exists = _status(cfn, stack, target) is not None
    name = f"medalist-{int(time.time())}"
    try:
        cfn.create_change_set(
            StackName=stack,
            ChangeSetName=name,
            ChangeSetType="UPDATE" if exists else "CREATE",
            TemplateBody=template_body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        changes = _wait_for_change_set(cfn, stack, name, poll_s, timeout_s)
    except MedalistError:
        raise
    except Exception as exc:
        raise aws_error(exc, f"stack {stack}", target) from None
    if changes is None:
        progress(f"{stack}: no changes to deploy")
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        return Deployed(stack, str(_status(cfn, stack, target)), _outputs(cfn, stack), 0)
    progress(f"{stack}: executing change set {name} ({changes} resource changes)")
    started = time.monotonic()
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    seen: set[str] = set()
    while True:
        _print_events(cfn, stack, seen, progress)
        status = _status(cfn, stack, target) or "DELETE_COMPLETE"
        if status in DONE or status in FAILED:
            break
        if time.monotonic() - started > timeout_s:
            raise TerminalError(f"stack {stack} still {status} after {timeout_s:.0f} s")
        time.sleep(poll_s)
    if status in FAILED:
        raise TerminalError(
            f"stack {stack} ended {status}",
            fix="The events above name the resource that failed and why; fix it and deploy "
            "again (a stack that never created must be deleted first).",
        )
    return Deployed(stack, status, _outputs(cfn, stack), changes)


def _status(cfn: Any, stack: str, target: AwsTarget) -> str | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except Exception as exc:
        if "does not exist" in str(exc):
            return None
        raise aws_error(exc, f"stack {stack}", target) from None
    return str(stacks[0]["StackStatus"]) if stacks else None


def _wait_for_change_set(
    cfn: Any, stack: str, name: str, poll_s: float, timeout_s: float
) -> int | None:
    """The number of changes once the change set is ready; None if it holds none."""
    started = time.monotonic()
    while True:
        described = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        status = described["Status"]
        if status == "CREATE_COMPLETE":
            return len(described.get("Changes", []))
        if status == "FAILED":
            reason = described.get("StatusReason", "")
            if any(text in reason for text in NO_CHANGES):
                return None
            raise TerminalError(f"change set for stack {stack} failed: {reason}")
        if time.monotonic() - started > timeout_s:
            raise TerminalError(f"change set for stack {stack} still {status}")
        time.sleep(poll_s)


def _print_events(cfn: Any, stack: str, seen: set[str], progress: Callable[[str], None]) -> None:
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    for event in reversed(events):  # oldest first
        if event["EventId"] in seen:
            continue
        seen.add(event["EventId"])
        reason = f": {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
        progress(
            f"{event['LogicalResourceId']} ({event['ResourceType']}) "
            f"{event['ResourceStatus']}{reason}"
        )


def _outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: str(o["OutputValue"]) for o in described.get("Outputs", [])}
