"""Lambda handlers for the state-machine tests, run by tests/aws/lambda_runtime.py."""

from __future__ import annotations

from typing import Any


class MedalistTerminalError(Exception):
    """Named like the error a state handler raises for a terminal failure."""


def state_ok(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"state": event["state"], "run_id": event["run_id"]}


def state_fails_in_transform(event: dict[str, Any], context: object) -> dict[str, Any]:
    if event["state"] == "Transform":
        raise MedalistTerminalError("orders/bad.csv, row 3, column quantity: not an integer")
    return state_ok(event, context)


def finish(event: dict[str, Any], context: object) -> dict[str, Any]:
    """What the finish function returns: the message Notify* publishes."""
    status, error = event["status"], event.get("error") or {}
    return {
        "subject": f"medalist shop: {status} run {event['run_id']}",
        "body": f"{status}: {error.get('Cause', 'all states succeeded')}",
        "attributes": {"status": {"DataType": "String", "StringValue": status}},
    }
