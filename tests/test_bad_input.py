"""The bad-input corpus (tests/cases/bad/cases.yaml): every defect gets its expected outcome.
Files that must FAIL leave silver, gold, quarantine and the destination byte-for-byte as they
were and stay in landing; files with bad rows quarantine exactly the rows the manifest names,
and the run's per-rule counts match the rows in quarantine."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from medalist.controller import run_pipeline
from medalist.runlog import RunRecord, Status
from medalist.wiring import local_ports
from medalist.workflow.context import RunContext
from medalist.workflow.definition import INGEST, TaskState, Workflow
from medalist.workflow.runner import Runner
from tests.conftest import ORDERS_CONTRACT, read_table

CASES_DIR = Path(__file__).parent / "cases" / "bad"
CASES: list[dict[str, Any]] = yaml.safe_load((CASES_DIR / "cases.yaml").read_text())
BIG_FIELD = {
    "file": "orders/ten_megabyte_field.csv",
    "defect": "a 10 MB field",
    "failed": {"says": "bytes long, over the CSV reader's limit"},
}
DATASETS = {
    "orders": {**ORDERS_CONTRACT, "source": "orders/*"},
    "semi": {
        "source": "semi/*.csv",
        "csv": {"delimiter": ","},
        "columns": {"order_id": {"type": "bigint", "required": True}},
    },
    "latin": {
        "source": "latin/*.csv",
        "csv": {"encoding": "latin-1"},
        "columns": {"order_id": {"type": "bigint", "required": True}, "city": {}},
    },
    "events": {
        "source": "events/*",
        "primary_key": ["id"],
        "columns": {
            "id": {"type": "bigint", "required": True},
            "amount": {"type": "double", "min": 0},
            "kind": {},
            "user__name": {},
        },
    },
    "pq": {
        "source": "parquet/*.parquet",
        "columns": {"id": {"type": "bigint", "required": True}, "amount": {"type": "double"}},
    },
}
BASELINE = {
    "orders/0-good.csv": "order_id,order_ts,customer_id,quantity,unit_price,status\n"
    "1,2026-11-24 09:00:00,7,2,10.00,PAID\n",
    "semi/0-good.csv": "order_id\n1\n",
    "latin/0-good.csv": "order_id,city\n1,Oslo\n",
    "events/0-good.jsonl": '{"id": 1, "amount": 1, "kind": "a", "user": {"name": "x"}}\n',
}


def test_the_corpus_has_forty_defects_each_with_one_expected_outcome():
    assert len(CASES) + 1 >= 40  # + the generated 10 MB field
    for case in CASES:
        assert (CASES_DIR / case["file"]).is_file(), case["file"]
        assert len({"failed", "quarantined", "succeeded"} & set(case)) == 1, case


def _lake_state(project, destination: str) -> dict[str, Any]:
    lake = project.root / "lake"
    files = {
        str(p.relative_to(lake)): p.read_bytes()
        for zone in ("silver", "gold", "quarantine")
        for p in sorted((lake / zone).rglob("*.parquet"))
    }
    tables = {t: read_table(destination, t, "1") for t in ("silver.orders", "silver.events")}
    return {"files": files, "tables": tables}


def _land(project, cases: list[dict[str, Any]]) -> None:
    for case in cases:
        if case is BIG_FIELD:
            project.land(case["file"], "order_id,order_ts\n1," + "x" * 10_485_760 + "\n")
        else:
            target = project.landing / case["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CASES_DIR / case["file"], target)


def _by_file(runs: list[RunRecord]) -> dict[str, RunRecord]:
    return {r.file: r for r in runs}


def _quarantined_rules(project, run: RunRecord) -> Counter[str]:
    files = list((project.root / "lake" / "quarantine").rglob(f"{run.run_id}.parquet"))
    if not files:
        return Counter()
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT unnest(_rules) FROM read_parquet(?)", [[str(f) for f in files]]
        ).fetchall()
    return Counter(r[0] for r in rows)


# A warn rule that never fires puts a contract on the path that holds the whole file in a
# table; without one, rows are checked in one streamed pass (decisions 0010 and 0012).
NEVER_WARNS = {"name": "never", "check": "true", "on_fail": "warn"}
PATHS = {
    "streamed": DATASETS,
    "table": {name: {**spec, "rules": [NEVER_WARNS]} for name, spec in DATASETS.items()},
}


@pytest.mark.parametrize("path", PATHS, ids=PATHS)
def test_every_bad_file_gets_its_expected_outcome(make_project, destination, path):
    project = make_project(destination, datasets=PATHS[path])
    for path, content in BASELINE.items():
        project.land(path, content)
    assert {r.status for r in project.run().runs} == {Status.SUCCEEDED}

    failing = [c for c in CASES if "failed" in c] + [BIG_FIELD]
    before = _lake_state(project, destination)
    _land(project, failing)
    runs = _by_file(project.run().runs)

    for case in failing:
        run, expected = runs[case["file"]], case["failed"]
        error = run.error or {}
        assert run.status == Status.FAILED, (case["defect"], run.rule_counts)
        assert error["file"] == f"landing/{case['file']}", case["defect"]
        assert expected["says"] in error["message"], (case["defect"], error["message"])
        assert error["fix"], case["defect"]
        if "state" in expected:
            assert run.state == expected["state"], (case["defect"], error["message"])
        if "row" in expected:
            assert error["row"] == expected["row"], case["defect"]
        assert (project.landing / case["file"]).exists(), case["defect"]
    assert _lake_state(project, destination) == before  # nothing changed, byte for byte

    others = [c for c in CASES if "failed" not in c]
    _land(project, others)
    runs = _by_file(project.run().runs)

    for case in others:
        run = runs[case["file"]]
        assert run.status == Status.SUCCEEDED, (case["defect"], run.error)
        in_quarantine = _quarantined_rules(project, run)
        counted = {r: n for r, n in run.rule_counts.items() if r != "primary_key:duplicate"}
        assert counted == dict(in_quarantine), case["defect"]  # counts match the rows
        if "quarantined" in case:
            assert dict(in_quarantine) == case["quarantined"], case["defect"]
        for key, value in (case.get("succeeded") or {}).items():
            assert getattr(run, key) == value, (case["defect"], key)
            assert not in_quarantine, case["defect"]


def test_a_file_that_changes_while_it_is_read_keeps_nothing_and_its_new_content_runs(
    make_project,
):
    project = make_project()
    landed = project.land("orders/a.csv", "order_id,order_ts\n1,2026-11-24 09:00:00\n")

    def crawl_then_append(ctx: RunContext):
        result = INGEST.states[0].task(ctx)
        with landed.open("a") as f:  # the sender is still writing
            f.write("2,2026-11-24 10:00:00\n")
        return result

    crawl = INGEST.states[0]
    states = (TaskState("Crawl", crawl_then_append, crawl.retry, crawl.comment),)
    writing = Workflow("ingest", states + INGEST.states[1:])
    pipeline = project.pipeline

    (run,) = run_pipeline(pipeline, local_ports(pipeline), Runner(writing)).runs

    assert run.status == Status.FAILED and run.state == "Transform"
    assert "changed while it was being read" in run.error["message"]
    assert not list((project.root / "lake" / "silver").rglob("*.parquet"))
    (again,) = project.run().runs  # the complete file is new content: a new run
    assert again.status == Status.SUCCEEDED and again.rows_silver == 2
