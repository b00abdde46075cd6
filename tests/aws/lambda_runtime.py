"""A Lambda runtime plugged into moto's server (tests/aws/moto_serial.py installs it).

Without Docker, moto's Lambda returns canned payloads and never runs code. Here an invoke runs
the function's Handler (`package.module.function`, importable in this Python) in the server
process, with the event it was sent, and answers as Lambda does: the returned value as JSON,
or, when the handler raises, `x-amz-function-error: Unhandled` with errorType (the exception's
class name, which Step Functions' Retry and Catch match) and errorMessage. Step Functions tasks
that invoke Lambda therefore run our handlers for real.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config


def _invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    fn = self.get_function(function_name, qualifier)  # ResourceNotFound as Lambda would
    module, _, attr = str(fn.handler).rpartition(".")
    event = json.loads(body) if body else {}
    saved = {k: os.environ.get(k) for k in fn.environment_vars}
    os.environ.update(fn.environment_vars)  # the function's configuration, as Lambda sets it
    try:
        handler = getattr(importlib.import_module(module), attr)
        result = handler(event, None)
    except Exception as exc:
        response_headers["x-amz-function-error"] = "Unhandled"
        error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
        return json.dumps(error).encode()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return json.dumps(result).encode()


def install() -> None:
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
    # No Docker here: Lambda is the simple backend (running our handlers, above), and Step
    # Functions executions interpret their definitions for real.
    default_user_config["lambda"] = {"use_docker": False}
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
