"""The dashboard API fuzzed by schemathesis (pinned in pyproject.toml), bounded: every check
on every operation, each request sent with each role's token and with none, against a real
uvicorn server whose log is captured. No 5xx, no status code the OpenAPI document does not
list, and no traceback in the server's log. Reproducible: the examples are derandomized."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.modes import GenerationMode

from medalist.web.app import create_app
from tests.web.conftest import ROLES, as_role, build_lake

MAX_EXAMPLES = 8  # per operation and mode; 6 callers each: ~860 requests in all
CALLERS = [*ROLES, None]  # every role's token, and none


class Captured(logging.Handler):
    """Everything the server logs, as text (a traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter().format(record))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, tokens, captured log) of the dashboard served by uvicorn in a thread."""
    project, _, tokens, _ = build_lake(tmp_path_factory.mktemp("fuzz") / "project")
    log = Captured()
    logging.getLogger().addHandler(log)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(project.pipeline), host="127.0.0.1", port=port, log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start in 10 s"
    yield f"http://127.0.0.1:{port}", tokens, log
    server.should_exit = True
    thread.join(timeout=10)
    logging.getLogger().removeHandler(log)


@pytest.fixture(scope="module")
def api(server):
    base, tokens, _ = server
    loaded = schemathesis.openapi.from_url(f"{base}/openapi.json", headers=as_role(tokens, "admin"))
    # A schema-valid body may still be SQL that cannot run: 400 is a right answer to it (and
    # status_code_conformance still fails a 400 where the document does not list one).
    accepted = loaded.config.checks.positive_data_acceptance
    accepted.expected_statuses = [*accepted.expected_statuses, "400"]
    return loaded


# NOTE: schemathesis' own pytest loader (`@schema.parametrize()` on a fixture's schema) fails
# on pytest 9 (it reads `request.node._nodeid`), so the test drives each operation's
# Hypothesis strategy itself.
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.parametrize("mode", MODES, ids=[str(m) for m in MODES])
def test_no_5xx_and_only_documented_status_codes_for_any_caller(api, server, mode):
    _, tokens, log = server
    operations = [result.ok() for result in api.get_all_operations()]

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: report what was found
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            for caller in CALLERS:
                headers = as_role(tokens, caller) if caller else {}
                case.call_and_validate(headers=headers, timeout=30)

        fuzz()

    assert len(operations) == 10  # every /api route is in the document, so fuzzed
    assert not [line for line in log.lines if "Traceback" in line], "\n".join(log.lines)
