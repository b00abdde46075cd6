"""`moto_server`, with DynamoDB requests handled one at a time.

Emulator gap (moto 5.2.5, server mode): the server is threaded and moto's DynamoDB backend
takes no lock. A conditional PutItem checks its condition and writes in two steps, and
TransactWriteItems checks and applies item by item, rolling back by restoring a deep copy of
the whole table taken before it started. Two concurrent requests therefore both pass
`attribute_not_exists`, and a cancelled transaction's rollback can erase what a concurrent one
wrote: 20 processes claiming 10 files made 13 runs (tests/ports/test_runlog_contract.py). Real
DynamoDB makes each conditional write atomic and transactions serializable; serialising the
DynamoDB requests gives the emulator that guarantee, so race tests test our conditions, not
moto's threading. Other services (S3, SQS long polls, …) stay concurrent.

Run as `python -m tests.aws.moto_serial HOST PORT`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

from tests.aws.lambda_runtime import install


class DynamoDBOneAtATime:
    """WSGI middleware: a DynamoDB request (X-Amz-Target: DynamoDB_…) runs alone."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))  # the whole answer, under the lock


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))  # as moto.server does: URLs it hands out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    install()  # Lambda runs the functions' handlers; Step Functions executes definitions
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host, port, DynamoDBOneAtATime(app), threaded=True, request_handler=MotoRequestHandler
    )


if __name__ == "__main__":
    main()
