"""`medalist serve` / `watch`: files are read only once complete, bursts are processed exactly
once, the schedule ticks in its time zone, SIGTERM stops cleanly, and every alert reaches every
channel exactly once even after the channel was down for a while."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.compaction import is_compaction
from medalist.metastore import now
from medalist.notify import outbox as outbox_module
from medalist.runlog import Status
from medalist.serve import Server
from medalist.wiring import local_ports
from tests.conftest import HEADER
from tests.sinks import HttpSink

MEDALIST = Path(sys.executable).with_name("medalist")
FAST = {"settle_seconds": 0.4, "poll_seconds": 0.2}


def row(i: int) -> str:
    return f"{i},2026-11-24 09:00:00,7,1,1.00,PAID\n"


class Running:
    """A Server on a thread, stopped (and joined) at the end of the test."""

    def __init__(self, project, **kwargs) -> None:
        self.log = io.StringIO()
        self.server = Server(project.pipeline, self.log, **kwargs)
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()

    def runs(self, project) -> list:
        """The files' runs (not silver compactions, decision 0029)."""
        runs = local_ports(project.pipeline).runlog.list(limit=None)
        return [r for r in runs if not r.file.startswith("_compaction/")]

    def wait_for(self, project, count: int, timeout: float = 60) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            finished = [
                r
                for r in self.runs(project)
                if r.status != Status.RUNNING and not is_compaction(r)  # runs of landed files
            ]
            if len(finished) >= count:
                return finished
            time.sleep(0.05)
        raise AssertionError(f"{count} runs expected, saw {len(self.runs(project))}")

    def stop(self) -> list[dict]:
        self.server.stop.set()
        self.server.wake.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()
        return [json.loads(line) for line in self.log.getvalue().splitlines()]


def test_a_file_copied_slowly_is_read_once_it_is_complete(make_project):
    project = make_project(trigger=FAST)
    server = Running(project, events=True, schedule=False)
    target = project.landing / "orders" / "slow.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w") as f:  # 5 chunks, 0.15 s apart: never settled while being written
        f.write(HEADER)
        for i in range(1, 6):
            f.write("".join(row(n) for n in range(i * 100, i * 100 + 100)))
            f.flush()
            time.sleep(0.15)

    (run,) = server.wait_for(project, 1)
    time.sleep(1.0)  # time for a wrong second run to show up
    events = server.stop()

    assert len(server.runs(project)) == 1
    assert run.status == Status.SUCCEEDED and run.rows_in == 500
    assert events[0]["event"] == "serve.started"
    assert {"run.started", "run.finished"} <= {e["event"] for e in events}


def test_five_hundred_files_dropped_at_once_are_each_processed_exactly_once(make_project):
    contract = {"source": "orders/*.csv", "load": "none", "columns": {"order_id": {}}}
    project = make_project(datasets={"orders": contract}, models={}, trigger=FAST, notifications=[])
    server = Running(project, events=True, schedule=False)
    rival = None
    for i in range(500):
        project.land(f"orders/{i:03d}.csv", f"order_id\n{i}\n")
        if i == 250:  # a manual run joins in halfway through the burst
            env = {**os.environ, "MEDALIST_CONFIG": str(project.config_path)}
            rival = subprocess.Popen(
                [str(MEDALIST), "run"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    runs = server.wait_for(project, 500, timeout=180)
    rival.wait(timeout=180)
    server.stop()

    files = Counter(r.file for r in server.runs(project) if not is_compaction(r))
    assert files == {f"orders/{i:03d}.csv": 1 for i in range(500)}
    assert {r.status for r in runs} == {Status.SUCCEEDED}


def test_serve_once_processes_the_days_files_and_logs_json(make_project):
    project = make_project(
        trigger={
            "mode": "schedule",
            "schedule": "0 2 * * *",
            "timezone": "Asia/Bangkok",
            "settle_seconds": 0,
        }
    )
    project.land("orders/2026-11-24.csv", HEADER + row(1))
    project.land("orders/2026-11-25.csv", HEADER + row(2))

    result = CliRunner().invoke(app, ["serve", "--once", "-c", str(project.config_path)])

    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    finished = [e for e in events if e["event"] == "run.finished"]
    assert [e["file"] for e in finished] == ["orders/2026-11-24.csv", "orders/2026-11-25.csv"]
    assert {e["status"] for e in finished} == {"SUCCEEDED"}
    assert events[0]["event"] == "serve.started" and events[0]["timezone"] == "Asia/Bangkok"


def test_the_schedule_ticks_in_its_time_zone_and_only_then_runs(make_project):
    # A clock 1.5 s before the next minute starts, so the "* * * * *" tick comes quickly.
    real = now()
    offset = (real.replace(second=0, microsecond=0) + timedelta(minutes=1)) - real
    offset -= timedelta(seconds=1.5)
    project = make_project(
        trigger={
            "mode": "schedule",
            "schedule": "* * * * *",
            "timezone": "America/New_York",
            "settle_seconds": 0,
        }
    )
    project.land("orders/a.csv", HEADER + row(1))
    log = io.StringIO()
    server = Server(
        project.pipeline, log, events=False, schedule=True, clock=lambda: now() + offset
    )
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    time.sleep(0.5)
    assert local_ports(project.pipeline).runlog.list() == []  # not before the tick

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not local_ports(project.pipeline).runlog.list():
        time.sleep(0.05)
    server.stop.set()
    server.wake.set()
    thread.join(timeout=30)

    (run,) = local_ports(project.pipeline).runlog.list()
    assert run.status == Status.SUCCEEDED
    ticks = [json.loads(x) for x in log.getvalue().splitlines()]
    assert [e["reason"] for e in ticks if e["event"] == "run.started"] == ["schedule"]


@pytest.mark.parametrize(
    ("trigger", "says"),
    [
        ({"mode": "schedule", "schedule": "0 25 * * *"}, "trigger.schedule: '0 25 * * *' is not"),
        ({"timezone": "Mars/Olympus"}, "trigger.timezone: unknown time zone 'Mars/Olympus'"),
        ({"mode": "both"}, "mode both needs a schedule"),
        ({"mood": "event"}, "trigger.mood: unknown key. Did you mean 'mode'?"),
    ],
)
def test_trigger_mistakes_are_config_errors_naming_the_key(make_project, trigger, says):
    project = make_project(trigger=trigger)

    result = CliRunner().invoke(app, ["validate", "-c", str(project.config_path)])

    assert result.exit_code == 2 and says in result.output


def test_sigterm_stops_serve_after_the_current_run(make_project):
    project = make_project(trigger=FAST)
    env = {**os.environ, "MEDALIST_CONFIG": str(project.config_path)}
    proc = subprocess.Popen(
        [str(MEDALIST), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(1.5)  # started and watching
        project.land("orders/a.csv", HEADER + row(1))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not local_ports(project.pipeline).runlog.list():
            time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()

    assert proc.returncode == 0
    events = [json.loads(line)["event"] for line in out.splitlines()]
    assert events[0] == "serve.started" and events[-1] == "serve.stopped"
    # SIGTERM may land before or during the run (a loaded machine): either way serve says it
    # is stopping, and the run finishes before serve stops
    assert "serve.stopping" in events
    assert events.index("run.finished") < events.index("serve.stopped")
    (run,) = local_ports(project.pipeline).runlog.list()
    assert run.status == Status.SUCCEEDED


def test_serve_delivers_every_alert_to_every_channel_once_even_after_an_outage(
    make_project, monkeypatch
):
    monkeypatch.setattr(outbox_module, "FIRST_RETRY_S", 0.2)
    webhook = HttpSink()
    webhook.down = True
    project = make_project(
        trigger=FAST, notifications=[{"type": "webhook", "url": webhook.url}, {"type": "file"}]
    )
    server = Running(project, events=True, schedule=False)
    try:
        project.land("orders/a.csv", HEADER + row(1))
        project.land("orders/b.csv", b"\x00garbage")  # a FAIL
        server.wait_for(project, 2)
        time.sleep(1.0)  # the webhook refuses retries meanwhile
        assert webhook.received == [] and webhook.attempts >= 2
        webhook.down = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(webhook.received) < 2:
            time.sleep(0.05)
        time.sleep(1.0)  # a duplicate would arrive now
    finally:
        server.stop()
        webhook.close()

    keys = Counter(headers["Idempotency-Key"] for headers, _ in webhook.received)
    assert len(keys) == 2 and set(keys.values()) == {1}
    assert sorted(body["event"] for _, body in webhook.received) == ["FAIL", "SUCCESS"]
    lines = (project.root / "lake/_medalist/notifications.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["event"] for x in lines) == ["FAIL", "SUCCESS"]


def test_files_that_landed_while_nothing_ran_are_processed_at_start(make_project):
    project = make_project(trigger={**FAST, "poll_seconds": 60})  # no poll would find them
    project.land("orders/a.csv", HEADER + row(1))
    old = time.time() - 60
    os.utime(project.landing / "orders" / "a.csv", (old, old))  # landed a minute ago

    server = Running(project, events=True, schedule=False)
    (run,) = server.wait_for(project, 1, timeout=10)
    events = server.stop()

    assert run.status == Status.SUCCEEDED
    assert [e["reason"] for e in events if e["event"] == "run.started"] == ["startup"]
