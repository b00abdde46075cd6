"""A replay's run id sorts where its file arrived (after the run it replays, before every later
run of the dataset: "latest wins" follows arrival, decision 0004) and shares no short prefix
with the run it replays, so `medalist show PREFIX` tells them apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner
from ulid import ULID

from medalist.cli import app
from medalist.operate import replay_id
from medalist.wiring import local_ports
from tests.conftest import HEADER

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def ulid_at(moment: datetime) -> str:
    return str(ULID.from_timestamp(moment.timestamp()))


def shared_prefix(a: str, b: str) -> int:
    """How many leading characters two ids share."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), len(a))


def test_a_replay_sits_between_its_run_and_the_next_far_from_both():
    monday, tuesday = ulid_at(MONDAY), ulid_at(MONDAY + timedelta(days=1))
    other = ulid_at(MONDAY - timedelta(days=3))
    replay = replay_id(monday, [other, monday, tuesday], at=MONDAY + timedelta(days=7))
    assert monday < replay < tuesday
    assert shared_prefix(replay, monday) <= 5 and shared_prefix(replay, tuesday) <= 5


def test_the_latest_files_replay_sits_between_it_and_now():
    monday = ulid_at(MONDAY)
    at = MONDAY + timedelta(hours=2)
    replay = replay_id(monday, [monday], at=at)
    assert monday < replay < ulid_at(at)
    assert shared_prefix(replay, monday) <= 6


@pytest.mark.parametrize("gap_ms", [0, 1], ids=["same-ms", "next-ms"])
def test_runs_a_millisecond_apart_still_keep_their_order(gap_ms):
    monday = ulid_at(MONDAY)
    later = str(ULID.from_int(int(ULID.from_str(monday)) + (gap_ms << 80) + 1000))
    for _ in range(50):
        assert monday < replay_id(monday, [monday, later], at=MONDAY + timedelta(days=1)) < later


def test_cli_replay_gets_an_id_a_short_prefix_tells_apart(make_project):
    project = make_project()
    project.land("orders/2026-11-24.csv", HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n")
    (first,) = project.run().runs
    runner = CliRunner()
    result = runner.invoke(app, ["replay", "orders", "-c", str(project.config_path)])
    assert result.exit_code == 0, result.output
    (replay,) = [r for r in local_ports(project.pipeline).runlog.list() if r.replaces]
    assert replay.replaces == first.run_id and replay.run_id > first.run_id
    # Both ran within a second or two: a ULID's first 8 characters are its time to ~1 s.
    assert shared_prefix(replay.run_id, first.run_id) < 10
    shown = runner.invoke(app, ["show", replay.run_id[:11], "-c", str(project.config_path)])
    assert shown.exit_code == 0, shown.output
    assert f"replaces {first.run_id}" in " ".join(shown.output.split())
