"""Retry has brakes (decision 0014): no retry while the run is running, retries of one run
spaced out (10 s, 20 s, 40 s, ... at most 15 min), and a history that stays bounded where it
is stored however often a run is retried (a DynamoDB item is at most 400 KB)."""

from __future__ import annotations

from datetime import timedelta

import pytest

import medalist.operate as operate
from medalist.metastore import now
from medalist.operate import RETRY_REQUESTED, retries_so_far, retry_run, retry_wait
from medalist.runlog import HISTORY_FIRST, HISTORY_LAST, RunRecord, Status, Transition
from medalist.wiring import local_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.web.conftest import as_role


def test_a_retry_right_after_a_retry_is_429_with_retry_after(lake):
    _, (_, failed), tokens, client = lake
    h = as_role(tokens, "engineer")

    first = client.post(f"/api/runs/{failed.run_id}/retry", headers=h)
    second = client.post(f"/api/runs/{failed.run_id}/retry", headers=h)
    page = client.post(f"/runs/{failed.run_id}/retry", headers=h)

    assert first.status_code == 200 and first.json()["status"] == "FAILED"
    assert second.status_code == 429 and 1 <= int(second.headers["retry-after"]) <= 10
    assert "was retried 1 time" in second.json()["detail"]
    assert "may be retried again at" in second.json()["detail"]
    assert page.status_code == 429


def test_a_retry_while_the_run_is_running_elsewhere_is_409(lake):
    project, (_, failed), tokens, client = lake
    runlog = local_ports(project.pipeline).runlog
    running = runlog.get(failed.run_id).model_copy(
        update={
            "status": Status.RUNNING,
            "lease_owner": "host-b:4242",
            "lease_expires_at": now() + timedelta(minutes=5),
        }
    )
    runlog.update(running)

    answer = client.post(f"/api/runs/{failed.run_id}/retry", headers=as_role(tokens, "engineer"))

    assert answer.status_code == 409 and "is RUNNING in host-b:4242" in answer.json()["detail"]


def retried(times: int, last_at) -> RunRecord:
    step = Transition(
        state="Crawl", status=Status.RUNNING, at=last_at, attempt=times, detail=RETRY_REQUESTED
    )
    return RunRecord(
        run_id="01ABC",
        pipeline="p",
        dataset="d",
        file="d/f.csv",
        file_hash="h",
        file_bytes=1,
        started_at=last_at,
        history=[step] if times else [],
    )


@pytest.mark.parametrize(
    ("times", "waited_s", "left_s"),
    [(0, 0, 0), (1, 0, 10), (1, 10, 0), (2, 5, 15), (3, 0, 40), (10, 0, 900), (200, 899, 1)],
    ids=["never", "1 just now", "1 ten s ago", "2", "3", "10: capped", "200: capped"],
)
def test_retries_of_one_run_are_spaced_out_doubling_up_to_15_minutes(times, waited_s, left_s):
    at = now()

    assert retry_wait(retried(times, at - timedelta(seconds=waited_s)), at) == left_s


def test_history_stays_bounded_and_the_retry_count_survives(lake, monkeypatch):
    project, (_, failed), tokens, client = lake
    monkeypatch.setattr(operate, "RETRY_SPACING_S", 0.0)  # no spacing: retry in a loop
    ports = local_ports(project.pipeline)

    for _ in range(40):
        retry_run(project.pipeline, ports, Runner(INGEST), failed.run_id)
    stored = ports.runlog.get(failed.run_id)

    assert len(stored.history) == HISTORY_FIRST + HISTORY_LAST
    assert stored.history_dropped > 0
    assert stored.history[0].detail == failed.history[0].detail  # how the run began
    assert retries_so_far(stored)[0] == 40  # the count rides on the last retry's transition
    assert stored.status == Status.FAILED
    page = client.get(f"/runs/{failed.run_id}", headers=as_role(tokens, "engineer"))
    assert f"{stored.history_dropped} transitions between the first and the last" in page.text


def test_the_run_log_keeps_the_first_and_last_transitions_and_counts_the_rest(lake):
    project, (_, failed), _, _ = lake
    runlog = local_ports(project.pipeline).runlog
    at = now()
    steps = [
        Transition(state="Crawl", status=Status.RUNNING, at=at, detail=f"step {n}")
        for n in range(1160)
    ]

    runlog.update(runlog.get(failed.run_id).model_copy(update={"history": steps}))
    once = runlog.get(failed.run_id)
    runlog.update(once.model_copy(update={"history": [*once.history, *steps[:5]]}))
    twice = runlog.get(failed.run_id)

    assert [h.detail for h in once.history] == [
        f"step {n}" for n in (*range(10), *range(1110, 1160))
    ]
    assert once.history_dropped == 1100
    assert len(twice.history) == 60 and twice.history_dropped == 1105
    assert [h.detail for h in twice.history[-5:]] == [f"step {n}" for n in range(5)]
