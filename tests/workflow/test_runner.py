"""The runner follows the definition: retries transient errors with backoff, fails terminal
ones at once, always records before it notifies, and never lets an alert fail a run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from medalist.controller import _claim, run_pipeline
from medalist.destination.dummy import DummyDestination
from medalist.runlog import Status
from medalist.storage import StoredFile
from medalist.wiring import local_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.conftest import HEADER

ROWS = HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n"


def _run_with(project, sleeps=None):
    pipeline = project.pipeline
    sleeps = [] if sleeps is None else sleeps
    outcome = run_pipeline(pipeline, local_ports(pipeline), Runner(INGEST, sleeps.append))
    return outcome.runs


def test_transient_load_errors_retry_with_backoff_then_succeed(make_project, tmp_path):
    url = f"dummy://retry/{tmp_path.name}?fail=2"
    project = make_project(url)
    project.land("orders/a.csv", ROWS)
    sleeps: list[float] = []

    (run,) = _run_with(project, sleeps)

    assert run.status == Status.SUCCEEDED
    assert sleeps == [2.0, 4.0]  # Load's policy: 2 s, then doubled
    attempts = [(h.state, h.status, h.attempt) for h in run.history if h.state == "Load"]
    assert attempts == [
        ("Load", Status.RUNNING, 1),
        ("Load", Status.RUNNING, 2),
        ("Load", Status.RUNNING, 3),
        ("Load", Status.SUCCEEDED, 1),
    ]
    assert "dummy destination refused load #2" in run.history[-2].detail
    assert DummyDestination.loaded["silver.orders"] >= 1


def test_retries_stop_at_the_policy_limit_and_the_run_fails_at_load(make_project, tmp_path):
    project = make_project(f"dummy://always/{tmp_path.name}?fail=always")
    project.land("orders/a.csv", ROWS)
    sleeps: list[float] = []

    (run,) = _run_with(project, sleeps)

    assert run.status == Status.FAILED and run.state == "Load"
    assert len(sleeps) == INGEST.states[-1].retry.max_attempts - 1
    assert run.error["kind"] == "transient" and run.error["state"] == "Load"
    assert run.rows_silver == 1  # Transform's counts stay recorded


def test_terminal_errors_do_not_retry(make_project, tmp_path):
    project = make_project(f"dummy://terminal/{tmp_path.name}?fail=always&kind=terminal")
    project.land("orders/a.csv", ROWS)
    sleeps: list[float] = []

    (run,) = _run_with(project, sleeps)

    assert run.status == Status.FAILED and sleeps == []
    assert run.error["kind"] == "terminal"
    lines = (project.root / "lake/_medalist/notifications.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["event"] == "FAIL"


def test_a_failing_notifier_never_fails_the_run(make_project, capsys):
    project = make_project()
    project.land("orders/a.csv", ROWS)
    pipeline = project.pipeline
    ports = local_ports(pipeline)

    class Broken:
        def send(self, message):
            raise ConnectionError("channel down")

    ports.notifiers = {"file": Broken()}
    (run,) = run_pipeline(pipeline, ports).runs

    assert run.status == Status.SUCCEEDED
    assert "alert via file failed: channel down" in capsys.readouterr().err
    (waiting,) = ports.outbox.undelivered()  # kept for the next delivery
    assert waiting.run_id == run.run_id and waiting.attempts == 1
    assert "channel down" in waiting.last_error


def test_a_run_whose_process_died_is_taken_over_and_finished(make_project):
    project = make_project()
    project.land("orders/a.csv", ROWS)
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Claim the file as a process that has since exited, mid-way through the workflow.
    landed = ports.storage.find("landing", "orders/*.csv")[0]
    claimed, _ = _claim(
        pipeline,
        ports,
        Runner(INGEST),
        "orders",
        landed,
        ports.storage.checksum("landing", landed.path),
    )
    ports.runlog.update(
        claimed.model_copy(
            update={"lease_owner": f"{socket.gethostname()}:{dead}", "state": "Transform"}
        )
    )
    assert isinstance(landed, StoredFile)

    (run,) = project.run().runs

    assert run.run_id == claimed.run_id and run.status == Status.SUCCEEDED
    assert run.rows_silver == 1
