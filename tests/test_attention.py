"""Runs say what needs a person (decision 0020): files no dataset reads, FAILED runs waiting for
`retry` (with the command), stale datasets, and WARN runs (a success with drift, or with more
rows quarantined than the threshold) in the summary, the run log, `serve`'s log and alerts."""

from __future__ import annotations

import json
import re
import time

from typer.testing import CliRunner

from medalist.cli import app
from medalist.runlog import Status
from medalist.wiring import local_ports
from tests.conftest import HEADER

runner = CliRunner()
CLEAN = HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n2,2026-11-24 10:00:00,8,1,5.00,PAID\n"
HALF_BAD = HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n2,2026-11-24 10:00:00,8,0,5.00,PAID\n"
BINARY = b"\x00\x01binary"


def medalist(*args: str):
    return runner.invoke(app, list(args))


def text_of(result) -> str:
    return " ".join(result.output.split())


def notifications(project) -> list[dict]:
    path = project.root / "lake" / "_medalist" / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_reports_landed_files_no_dataset_reads(make_project):
    project = make_project()
    project.land("orders/2026-11-24.csv", CLEAN)
    project.land("ORDERS.CSV", CLEAN)  # at the root of landing
    project.land("orders/2026-11-25.CSV", CLEAN)  # the source says *.csv
    result = medalist("run", "-c", str(project.config_path))
    assert result.exit_code == 0, result.output
    text = text_of(result)
    assert (
        "UNMATCHED landing/ORDERS.CSV: dataset orders reads orders/*.csv: move it to "
        "landing/orders/" in text
    )
    assert (
        "UNMATCHED landing/orders/2026-11-25.CSV: dataset orders reads orders/*.csv, which "
        "matches it but for letter case" in text
    )
    # And again on the next run: nothing new, but the files are still not read.
    again = medalist("run", "-c", str(project.config_path))
    assert "Nothing new in landing." in again.output
    assert "UNMATCHED landing/ORDERS.CSV" in text_of(again)


def test_files_declared_ignored_are_not_reported(make_project):
    project = make_project(attention={"ignore_in_landing": ["README*", "archive/*"]})
    project.land("README.md", "what lands here")
    project.land("archive/2025/old.csv", CLEAN)
    project.land("stray.txt", "?")
    result = medalist("run", "-c", str(project.config_path))
    text = text_of(result)
    assert "UNMATCHED landing/stray.txt: no dataset reads it (orders reads orders/*.csv)" in text
    assert "README" not in text and "archive" not in text


def test_run_ends_with_failed_runs_waiting_for_retry_and_the_command(make_project):
    project = make_project()
    project.land("orders/2026-11-24.csv", BINARY)
    first = medalist("run", "-c", str(project.config_path))
    assert first.exit_code == 1
    (failed,) = local_ports(project.pipeline).runlog.list(status=Status.FAILED)
    command = f"medalist retry {failed.run_id} -c {project.config_path}"
    assert "FAILED orders orders/2026-11-24.csv at Crawl" in text_of(first)
    assert command in text_of(first)

    # A later run of other files succeeds: exit 0 (as documented), and still says it.
    project.land("orders/2026-11-25.csv", CLEAN)
    later = medalist("run", "-c", str(project.config_path))
    assert later.exit_code == 0, later.output
    assert command in text_of(later)

    # Fixed and retried: nothing waits any more.
    project.land("orders/2026-11-24.csv", CLEAN)
    assert medalist("run", "-c", str(project.config_path)).exit_code == 0
    done = medalist("run", "-c", str(project.config_path))
    assert "retry" not in done.output and "Needs attention" not in done.output


def test_run_names_datasets_with_no_recent_successful_file(make_project):
    customers = {
        "source": "customers/*.csv",
        "primary_key": ["customer_id"],
        "columns": {"customer_id": {"type": "bigint"}},
    }
    project = make_project()
    config = project.pipeline.model_dump(mode="json", exclude={"base_dir"}, exclude_unset=True)
    project = make_project(datasets={**config["datasets"], "customers": customers})
    project.land("orders/2026-11-24.csv", CLEAN)
    result = medalist("run", "-c", str(project.config_path))
    assert "STALE customers: no successful file yet" in text_of(result)
    assert "STALE orders" not in text_of(result)


def test_many_rows_quarantined_is_a_warn_in_summary_run_log_and_alerts(make_project):
    project = make_project()
    project.land("orders/2026-11-24.csv", HALF_BAD)
    project.land("orders/2026-11-25.csv", CLEAN)
    result = medalist("run", "-c", str(project.config_path))
    assert result.exit_code == 0  # a WARN is a success: exit codes unchanged
    assert re.search(r"orders/2026-11-24\.csv\s*│\s*WARN", result.output)
    assert re.search(r"orders/2026-11-25\.csv\s*│\s*SUCCEEDED", result.output)
    assert (
        "WARN orders orders/2026-11-24.csv: 50% of rows quarantined (1 of 2), above "
        "attention.warn_quarantined_share 0.05" in text_of(result)
    )

    runs = {r.file: r for r in local_ports(project.pipeline).runlog.list()}
    warned, clean = runs["orders/2026-11-24.csv"], runs["orders/2026-11-25.csv"]
    assert warned.status == Status.SUCCEEDED and warned.outcome == "WARN"
    assert warned.warnings == [
        "50% of rows quarantined (1 of 2), above attention.warn_quarantined_share 0.05"
    ]
    assert clean.outcome == "SUCCEEDED" and clean.warnings == []

    sent = {m["file"]: m for m in notifications(project)}
    assert sent["orders/2026-11-24.csv"]["outcome"] == "WARN"
    assert sent["orders/2026-11-24.csv"]["event"] == "SUCCESS"  # receivers keyed on it still work
    assert sent["orders/2026-11-24.csv"]["warnings"] == warned.warnings
    assert sent["orders/2026-11-25.csv"]["outcome"] == "SUCCESS"


def test_channels_subscribe_to_warn(make_project):
    channels = [
        {"type": "file", "name": "warn-only", "on": ["warn"], "path": "warn.jsonl"},
        {"type": "file", "name": "failures", "on": ["failure"], "path": "fail.jsonl"},
        {"type": "file", "name": "successes", "on": ["success"], "path": "ok.jsonl"},
    ]
    project = make_project(notifications=channels)
    project.land("orders/2026-11-24.csv", HALF_BAD)
    project.land("orders/2026-11-25.csv", CLEAN)
    project.land("orders/2026-11-26.csv", BINARY)
    project.run()

    def files(name: str) -> list[str]:
        lines = (
            (project.root / name).read_text().splitlines() if (project.root / name).exists() else []
        )
        return sorted(json.loads(line)["file"] for line in lines)

    assert files("warn.jsonl") == ["orders/2026-11-24.csv"]
    assert files("fail.jsonl") == ["orders/2026-11-26.csv"]
    assert files("ok.jsonl") == ["orders/2026-11-24.csv", "orders/2026-11-25.csv"]


def test_the_quarantine_threshold_is_configurable(make_project):
    project = make_project(attention={"warn_quarantined_share": 0.6})
    project.land("orders/2026-11-24.csv", HALF_BAD)
    (run,) = project.run().runs
    assert run.outcome == "SUCCEEDED"
    never = make_project(attention={"warn_quarantined_share": None})
    never.land("orders/2026-11-25.csv", HALF_BAD)
    assert all(r.outcome == "SUCCEEDED" for r in never.run().runs)


def test_drift_is_a_warn_when_a_file_brings_it_not_on_every_file_after(make_project):
    project = make_project()
    wider = HEADER.strip() + ",coupon\n1,2026-11-24 09:00:00,7,2,10.00,PAID,X\n"
    project.land("orders/2026-11-24.csv", CLEAN)
    project.land("orders/2026-11-25.csv", wider)
    project.land("orders/2026-11-26.csv", wider.replace("1,2026", "2,2026"))
    runs = {r.file: r for r in project.run().runs}
    assert runs["orders/2026-11-24.csv"].outcome == "SUCCEEDED"
    assert runs["orders/2026-11-25.csv"].warnings == ["schema drift: +coupon VARCHAR"]
    assert runs["orders/2026-11-26.csv"].outcome == "SUCCEEDED"  # the same columns again
    off = make_project(attention={"warn_on_drift": False})
    off.land("orders/2026-11-27.csv", wider.replace("1,2026", "3,2026"))
    assert [r.outcome for r in off.run().runs] == ["SUCCEEDED"]


def test_serve_logs_unmatched_files_once_and_the_outcome_of_runs(make_project):
    project = make_project(trigger={"mode": "event", "settle_seconds": 0})
    project.land("orders/2026-11-24.csv", HALF_BAD)
    project.land("ORDERS.CSV", CLEAN)
    result = medalist("serve", "--once", "-c", str(project.config_path))
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    (unmatched,) = [e for e in events if e["event"] == "landing.unmatched"]
    assert unmatched["file"] == "ORDERS.CSV" and "orders/*.csv" in unmatched["hint"]
    (finished,) = [e for e in events if e["event"] == "run.finished"]
    assert finished["status"] == "SUCCEEDED" and finished["outcome"] == "WARN"
    assert finished["warnings"][0].startswith("50% of rows quarantined")


def test_a_retried_runs_duration_is_its_work_not_the_wait(make_project, pg_url):
    missing = pg_url + "_not_yet"
    project = make_project(destination=missing)
    project.land("orders/2026-11-24.csv", CLEAN)
    (failed,) = project.run().runs
    assert failed.status == Status.FAILED and failed.state == "Load"
    time.sleep(3)  # nobody retries for a while
    text = project.config_path.read_text().replace(missing, pg_url)
    project.config_path.write_text(text)
    result = medalist("retry", failed.run_id, "-c", str(project.config_path))
    assert result.exit_code == 0, result.output
    run = local_ports(project.pipeline).runlog.get(failed.run_id)
    elapsed = (run.ended_at - run.started_at).total_seconds()
    assert elapsed > 3
    assert run.duration_s is not None and run.duration_s < elapsed - 2.5
    shown = text_of(medalist("show", run.run_id, "-c", str(project.config_path)))
    assert f"duration {run.duration_s:.2f}s of work;" in shown
    assert "from first start to end" in shown and "waiting for a retry" in shown
