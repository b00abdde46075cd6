"""medalist land: files into landing through the Storage port, each content once, garbage
refused at the client with --check; --watch survives restarts without resending or skipping."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.integration.land import Outcome, land
from medalist.integration.watch import SentState, scan
from medalist.runlog import Status
from medalist.storage import Zone
from medalist.storage.local import LocalStorage
from medalist.wiring import local_ports
from tests.conftest import HEADER, Project
from tests.integration.lakes import LAKES, Lake

ROWS = "1,2026-11-24T10:00:00,7,2,9.99,PAID\n2,2026-11-24T11:00:00,8,1,5.00,PAID\n"
runner = CliRunner()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def landed_names(project: Project) -> list[str]:
    return sorted(
        p.relative_to(project.landing).as_posix()
        for p in project.landing.rglob("*")
        if p.is_file() and ".staging" not in p.parts
    )


def cli(project: Project, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["land", *args, "-c", str(project.config_path)])
    return result.exit_code, result.output


@pytest.mark.parametrize("kind", LAKES)
def test_files_and_folders_land_and_run(
    make_lake: Callable[..., Lake], tmp_path: Path, kind: str
) -> None:
    lake = make_lake(kind)
    outbox = tmp_path / "outbox"
    one = write(outbox, "2026-11-24.csv", HEADER + ROWS)
    write(outbox / "more", "2026-11-25.csv", HEADER + ROWS.replace("PAID", "REFUNDED"))
    code, output = cli(lake.project, str(one), str(outbox / "more"), "--dataset", "orders")
    assert code == 0, output
    assert "landed" in output and "2026-11-25.csv" in output
    assert lake.names("orders") == ["orders/2026-11-24.csv", "orders/2026-11-25.csv"]
    assert lake.read("orders/2026-11-24.csv") == (HEADER + ROWS).encode()
    assert lake.staged() == []
    if kind == "local":  # on S3 a run of landed files is test_presign's (each costs seconds)
        assert [r.status for r in lake.run().runs] == [Status.SUCCEEDED] * 2


@pytest.mark.parametrize("kind", LAKES)
def test_the_same_content_is_skipped_and_says_so(
    make_lake: Callable[..., Lake], tmp_path: Path, kind: str
) -> None:
    lake = make_lake(kind)
    first = write(tmp_path / "out", "2026-11-24.csv", HEADER + ROWS)
    cli(lake.project, str(first), "--dataset", "orders")
    code, output = cli(lake.project, str(first), "--dataset", "orders")
    assert code == 0 and "skipped" in output and "already holds the same content" in output
    lake.run()
    renamed = write(tmp_path / "out", "copy-of-24.csv", HEADER + ROWS)  # same bytes, new name
    code, output = cli(lake.project, str(renamed), "--dataset", "orders")
    assert "skipped" in output and "landed as orders/2026-11-24.csv" in output
    assert lake.names("orders") == ["orders/2026-11-24.csv"]


@pytest.mark.parametrize("kind", LAKES)
def test_other_content_under_a_landed_name_is_refused_not_replaced(
    make_lake: Callable[..., Lake], tmp_path: Path, kind: str
) -> None:
    lake = make_lake(kind)
    first = write(tmp_path / "a", "2026-11-24.csv", HEADER + ROWS)
    other = write(tmp_path / "b", "2026-11-24.csv", HEADER + ROWS.replace("PAID", "REFUNDED"))
    cli(lake.project, str(first), "--dataset", "orders")
    code, output = cli(lake.project, str(other), "--dataset", "orders")
    assert code == 1 and "refused" in output and "never replaced" in output
    assert lake.read("orders/2026-11-24.csv") == (HEADER + ROWS).encode()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("no-amount.csv", "order_id,order_ts\n1,2026-11-24T10:00:00\n", "quantity|unit_price"),
        ("binary.csv", "\x00\x01\x02PK\x03\x04" * 50, "binary|not text|encoding"),
        ("empty.csv", "", "empty"),
        ("2026-11-24.txt", HEADER + ROWS, "would not be read"),
    ],
    ids=["missing-columns", "binary", "empty", "wrong-name"],
)
def test_check_refuses_garbage_before_sending_with_the_reason(
    make_project: Callable[..., Project], tmp_path: Path, name: str, content: str, reason: str
) -> None:
    contract = {
        "source": "orders/*.csv",
        "primary_key": ["order_id"],
        "columns": {
            "order_id": {"type": "bigint", "required": True},
            "order_ts": {"type": "timestamp"},
            "quantity": {"type": "integer", "required": True},
        },
    }
    project = make_project(datasets={"orders": contract}, models={})
    bad = write(tmp_path / "out", name, content)
    code, output = cli(project, str(bad), "--dataset", "orders", "--check")
    assert code == 1 and "refused" in output, output
    assert any(word in output for word in reason.split("|")), output
    assert "in landing" not in output, output  # the file checked is a local one
    assert landed_names(project) == []


def test_a_send_that_fails_midway_leaves_nothing_in_landing(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    big = write(tmp_path / "out", "2026-11-24.csv", HEADER + ROWS * 400_000)  # > 1 chunk

    def cut(nbytes: int) -> None:
        raise ConnectionError("link lost")

    pipeline = project.pipeline
    with pytest.raises(ConnectionError):
        land(pipeline, local_ports(pipeline), [big], "orders", on_progress=cut)
    assert landed_names(project) == []
    assert not list(project.landing.rglob(".staging/*"))


def test_watch_survives_restarts_without_resending_or_skipping(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    folder = tmp_path / "drop"
    state_file = tmp_path / "sent.jsonl"
    write(folder, "a.csv", HEADER + ROWS)
    first = scan(pipeline, ports, folder, "orders", SentState.load(state_file), settle_s=0)
    assert [d.outcome for d in first] == [Outcome.LANDED]

    # down for a while: a new file arrives, the landed one is touched (same content)
    write(folder, "b.csv", HEADER + ROWS.replace("PAID", "REFUNDED"))
    os.utime(folder / "a.csv", (time.time() + 5, time.time() + 5))
    again = scan(pipeline, ports, folder, "orders", SentState.load(state_file), settle_s=0)
    assert [(d.target, d.outcome) for d in again] == [("orders/b.csv", Outcome.LANDED)]
    assert scan(pipeline, ports, folder, "orders", SentState.load(state_file), settle_s=0) == []

    # died after publishing c.csv, before writing the state: found in landing, not resent
    write(folder, "c.csv", HEADER + ROWS.replace("PAID", "CANCELLED"))
    land(pipeline, ports, [folder / "c.csv"], "orders")
    after = scan(pipeline, ports, folder, "orders", SentState.load(state_file), settle_s=0)
    assert [d.outcome for d in after] == [Outcome.SKIPPED]
    assert landed_names(project) == ["orders/a.csv", "orders/b.csv", "orders/c.csv"]


def test_watch_leaves_files_still_being_written(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    pipeline = project.pipeline
    write(tmp_path / "drop", "a.csv", HEADER + ROWS)
    state = SentState.load(tmp_path / "sent.jsonl")
    assert scan(pipeline, local_ports(pipeline), tmp_path / "drop", "orders", state) == []


def test_watch_once_from_the_cli(make_project: Callable[..., Project], tmp_path: Path) -> None:
    project = make_project()
    write(tmp_path / "drop", "a.csv", HEADER + ROWS)
    code, output = cli(project, "--watch", str(tmp_path / "drop"), "--dataset", "orders", "--once")
    assert code == 0 and "landed" in output, output
    assert "one scan" in output and "Ctrl-C" not in output, output  # --once does not wait
    assert (tmp_path / "drop" / ".medalist-sent.jsonl").exists()
    assert landed_names(project) == ["orders/a.csv"]


class UrlStorage(LocalStorage):
    """Local folders named by URL (file://), as a remote lake's adapter names its objects:
    land writes through fsspec then, the path an S3 lake takes."""

    def staging_url(self, zone: Zone, path: str, token: str) -> str:
        return Path(super().staging_url(zone, path, token)).as_uri()


def test_a_lake_named_by_url_is_written_through_fsspec(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    pipeline = project.pipeline
    ports = dataclasses.replace(local_ports(pipeline), storage=UrlStorage(pipeline.lake_path))
    one = write(tmp_path / "out", "2026-11-24.csv", HEADER + ROWS)
    (done,) = land(pipeline, ports, [one], "orders")
    assert done.outcome == Outcome.LANDED
    assert (project.landing / "orders" / "2026-11-24.csv").read_text() == HEADER + ROWS
