"""When a lease holder counts as gone (the Liveness port): its lease expired, wherever it ran;
or, as a shortcut on one machine only, its process on this host has exited."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
from datetime import timedelta

from medalist.controller import _claim, run_pipeline
from medalist.leases import LeaseExpiry, LocalProcesses
from medalist.metastore import now
from medalist.runlog import Status
from medalist.wiring import local_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.conftest import HEADER

HERE = socket.gethostname()
LATER = now() + timedelta(hours=1)


def exited_pid() -> int:
    """The pid of a process that has exited (the way a holder that was killed looks)."""
    code = "import os; print(os.getpid())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_an_expired_lease_is_gone_under_every_policy():
    earlier = now() - timedelta(seconds=1)
    for policy in (LeaseExpiry(), LocalProcesses()):
        assert policy.gone(f"{HERE}:{os.getpid()}:x", earlier)  # even this live process
        assert policy.gone("elsewhere:1:x", earlier)
        assert not policy.gone("elsewhere:1:x", LATER)


def test_a_dead_process_on_this_host_is_gone_at_once_only_for_the_local_shortcut():
    dead = exited_pid()
    assert LocalProcesses().gone(f"{HERE}:{dead}:x", LATER)
    assert not LocalProcesses().gone(f"{HERE}:{os.getpid()}:x", LATER)  # this process
    assert not LeaseExpiry().gone(f"{HERE}:{dead}:x", LATER)  # a PID says nothing there


def test_a_pid_on_another_host_means_nothing_here():
    dead = exited_pid()  # exited here; on "elsewhere" the same number may be alive
    assert not LocalProcesses().gone(f"elsewhere:{dead}:x", LATER)
    assert not LocalProcesses(host="elsewhere").gone(f"{HERE}:{dead}:x", LATER)
    assert LocalProcesses(host="elsewhere").gone(f"elsewhere:{dead}:x", LATER)


def test_runs_held_elsewhere_wait_for_their_lease_when_liveness_is_expiry_only(make_project):
    """On AWS (expiry only), a run whose holder looks dead by PID is still left alone until its
    lease expires; then the next trigger takes it over and finishes it."""
    project = make_project()
    project.land("orders/a.csv", HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n")
    pipeline = project.pipeline
    ports = dataclasses.replace(local_ports(pipeline), liveness=LeaseExpiry())
    landed = ports.storage.find("landing", "orders/*.csv")[0]
    digest = ports.storage.checksum("landing", landed.path)
    claimed, _ = _claim(pipeline, ports, Runner(INGEST), "orders", landed, digest)
    held = ports.runlog.update(
        claimed.model_copy(update={"lease_owner": f"{HERE}:{exited_pid()}:x", "state": "Crawl"})
    )

    waiting = run_pipeline(pipeline, ports)
    assert waiting.runs == [] and waiting.busy == ["orders/a.csv"]

    ports.runlog.update(held.model_copy(update={"lease_expires_at": now() - timedelta(seconds=1)}))
    (run,) = run_pipeline(pipeline, ports).runs
    assert run.run_id == claimed.run_id and run.status == Status.SUCCEEDED


def test_the_local_default_takes_over_a_run_whose_process_exited_at_once(make_project):
    project = make_project()
    project.land("orders/a.csv", HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n")
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    assert isinstance(ports.liveness, LocalProcesses)
    landed = ports.storage.find("landing", "orders/*.csv")[0]
    digest = ports.storage.checksum("landing", landed.path)
    claimed, _ = _claim(pipeline, ports, Runner(INGEST), "orders", landed, digest)
    ports.runlog.update(claimed.model_copy(update={"lease_owner": f"{HERE}:{exited_pid()}:x"}))

    (run,) = run_pipeline(pipeline, ports).runs
    assert run.run_id == claimed.run_id and run.status == Status.SUCCEEDED
