"""A batch's files validated in one engine pass (decision 0039) give each file exactly what a
run of that file alone gives: the same silver and quarantine rows (row numbers, reasons,
lineage), counts, rule counts and verdicts; a file the pass cannot take runs alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from medalist.contracts.rules import FIELD_LIMIT
from medalist.engine.duckdb import DuckDBEngine
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT, Project


def _rows(first: int, n: int, day: int = 24) -> list[str]:
    return [f"{first + i},2026-11-{day} 09:00:00,{i},1,2.00,PAID" for i in range(n)]


FILES: dict[str, str | bytes] = {
    "a-good.csv": HEADER + "\n".join(_rows(100, 5)) + "\n",
    "b-broken-rows.csv": HEADER
    + "\n".join(
        [
            *_rows(200, 2),
            "202,not a time,1,1,2.00,PAID",
            ",2026-11-24 09:00:00,1,1,2.00,PAID",
            "203,2026-11-24 09:00:00,1,0,2.00,LOST",
            "204,2026-11-24 09:00:00, 7 ,3,-1,PAID",
            *_rows(205, 2),
        ]
    )
    + "\n",
    # a key repeated: the last row of the file wins, the other counts as a duplicate
    "c-repeats.csv": HEADER
    + "\n".join([*_rows(300, 3), "301,2026-11-25 10:00:00,9,4,3.00,REFUNDED", "302,x,1,1,1,PAID"])
    + "\n",
    # a line with a field too many: the reader sets it aside, so this file runs alone
    "d-malformed.csv": HEADER
    + "\n".join([*_rows(400, 2), "402,2026-11-24 09:00:00,1,1,2.00,PAID,extra", *_rows(403, 2)])
    + "\n",
    # more broken rows than max_bad_rows: the file fails alone
    "e-refused.csv": HEADER
    + "\n".join([f"{500 + i},2026-11-24 09:00:00,1,0,2.00,PAID" for i in range(5)])
    + "\n",
    "f-all-broken.csv": HEADER + "600,2026-11-24 09:00:00,1,1,2.00,LOST\n",
    "g-header-only.csv": HEADER,
    "h-latin1.csv": (
        HEADER + "700,2026-11-24 09:00:00,1,1,2.00,PAID\n701,2026-11-24 09:00:00,1,1,2.00,P\xc9ID\n"
    ).encode("latin-1"),
    # a line over the reader's limit fails the combined read: the pass halves to leave it alone,
    # and the file fails
    "i-long-line.csv": HEADER
    + "\n".join([*_rows(800, 2), "802,2026-11-24 09:00:00,7,2,10.00," + "X" * (5 * FIELD_LIMIT)])
    + "\n",
    "j-good.csv": HEADER + "\n".join(_rows(900, 4, day=25)) + "\n",
    "k-crlf.csv": (HEADER + "\n".join(_rows(1000, 3)) + "\n").replace("\n", "\r\n"),
    "l-quoted.csv": HEADER + '1100,"2026-11-24 09:00:00",1,1,"2.00","PAID"\n1101,,,,,\n',
}
# the files the pass must leave to a run alone; a, b, c, e and f it takes (the long line's read
# error halves the pass, so files next to it may run alone too)
ALONE = {"d-malformed.csv", "i-long-line.csv"}
PASSED = {"a-good.csv", "b-broken-rows.csv", "c-repeats.csv", "e-refused.csv", "f-all-broken.csv"}
PASSED |= {"k-crlf.csv", "l-quoted.csv"}


def _project(root: Path, max_files: int) -> Project:
    root.mkdir(parents=True)
    contract = {**ORDERS_CONTRACT, "max_bad_rows": 4}
    project = Project(
        root,
        {
            "name": "shop",
            "datasets": {"orders": contract},
            "models": {"daily_sales": DAILY_SALES},
            "notifications": [],
            "batch": {"max_files": max_files},
        },
    )
    for name, content in FILES.items():
        project.land(f"orders/{name}", content)
    return project


def _outcome(project: Project) -> dict[str, Any]:
    """Per file: its run's verdict and counts, and its silver and quarantine rows (the run id
    and ingestion time, which differ between any two runs, left out)."""
    seen: dict[str, Any] = {}
    runs = project.run().runs
    lake = project.root / "lake"
    with duckdb.connect() as con:
        for run in runs:
            error = run.error or {}
            tables = []
            for zone in ("silver", "quarantine"):
                path = lake / zone / "orders" / f"{run.run_id}.parquet"
                if not path.exists():
                    tables.append(None)
                    continue
                rel = con.sql(f"SELECT * EXCLUDE (_run_id, _ingested_at) FROM '{path}'")
                tables.append((rel.columns, rel.types, sorted(rel.fetchall(), key=repr)))
            seen[run.file] = (
                run.status,
                run.state,
                run.rows_in,
                run.rows_silver,
                run.rows_quarantined,
                run.rule_counts,
                (run.outputs.get("Transform") or {}).get("rows_duplicate"),
                error.get("message"),
                error.get("row"),
                error.get("path"),
                *tables,
            )
    return seen


def test_a_batch_validated_in_one_pass_gives_each_file_what_it_gets_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _outcome(_project(tmp_path / "alone", max_files=1))
    validated_alone: list[str] = []
    single = DuckDBEngine.validate

    def spy(engine: DuckDBEngine, job: Any) -> Any:
        validated_alone.append(Path(job.source_file).name)
        return single(engine, job)

    monkeypatch.setattr(DuckDBEngine, "validate", spy)
    batched = _outcome(_project(tmp_path / "batched", max_files=20))

    assert set(validated_alone) >= ALONE and PASSED.isdisjoint(validated_alone)
    assert set(batched) == {f"orders/{name}" for name in FILES}
    for file in alone:
        assert batched[file] == alone[file], file
    # what the comparison covers, as a user sees it
    verdict, _, rows_in, silver, quarantined, rules, duplicates, message, *_ = batched[
        "orders/c-repeats.csv"
    ]
    assert (rows_in, silver, quarantined, duplicates) == (5, 3, 1, 1)
    assert rules == {"order_ts:type": 1, "primary_key:duplicate": 1}
    verdict, _, _, _, _, _, _, message, *_ = batched["orders/e-refused.csv"]
    assert verdict == "FAILED" and "more than max_bad_rows (4)" in message
    assert batched["orders/b-broken-rows.csv"][2:5] == (8, 4, 4)
    assert batched["orders/f-all-broken.csv"][2:5] == (1, 0, 1)


def test_a_file_that_breaks_the_combined_read_fails_alone_and_the_pass_goes_on(
    tmp_path: Path,
) -> None:
    from medalist.engine import Validation
    from medalist.errors import InputError

    names = ["a-good.csv", "b-broken-rows.csv", "gone.csv", "c-repeats.csv", "j-good.csv"]
    jobs = []
    for name in names:
        landed = tmp_path / name
        if name in FILES:
            landed.write_text(str(FILES[name]))
        jobs.append(_job(tmp_path, name, size=100))
    engine = DuckDBEngine(temp_dir=tmp_path / "engine")
    try:
        results = engine.validate_many(jobs)
    finally:
        engine.close()

    by_name = dict(zip(names, results, strict=True))
    assert isinstance(by_name["gone.csv"], InputError)  # a file deleted under the run
    assert by_name["b-broken-rows.csv"] == Validation(
        8, 4, 4, 0, {"order_id:required": 1, "order_ts:type": 1, "quantity:min": 1,
                     "status:accepted": 1, "unit_price:min": 1}
    )  # fmt: skip
    assert by_name["c-repeats.csv"].rows_duplicate == 1  # type: ignore[union-attr]
    assert (tmp_path / "silver-j-good.csv.parquet").exists()
    assert not (tmp_path / "silver-gone.csv.parquet").exists()


def test_a_batch_makes_its_per_file_writes_in_folders_it_reuses_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Silver and quarantine of each file come out of one partitioned write per pass, into
    folders named by the file's place in the pass: every pass and both zones reuse them (an
    rmdir is 1.5-2 ms here: a folder per run and zone was seconds of a 1,000-file burst), and
    the engine removes them when it closes, or a later engine when it died a day ago."""
    import os
    import time

    from medalist.engine.duckdb import batch

    monkeypatch.setattr(batch, "PASS_FILES", 2)  # 6 files: 3 passes
    names = ["a-good.csv", "b-broken-rows.csv", "c-repeats.csv", "j-good.csv", "k-crlf.csv"]
    names.append("l-quoted.csv")
    jobs = []
    for name in names:
        (tmp_path / name).write_bytes(str(FILES[name]).encode())
        jobs.append(_job(tmp_path, name, size=1))
    temp = tmp_path / "engine"
    stale = temp / "batch-left-by-a-dead-engine"
    (stale / "_batch_file=0").mkdir(parents=True)
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    engine = DuckDBEngine(temp_dir=temp)
    try:
        assert not stale.exists()
        engine.validate_many(jobs)
        # one folder for the engine's writes, a sub-folder per place in a pass, all empty
        (kept,) = [p for p in temp.iterdir() if p.name.startswith("batch-")]
        assert sorted(p.name for p in kept.iterdir()) == ["_batch_file=0", "_batch_file=1"]
        assert not [p for p in kept.rglob("*") if p.is_file()]
    finally:
        engine.close()
    assert not [p for p in temp.iterdir() if p.name.startswith("batch-")]
    for name in names:
        assert (tmp_path / f"silver-{name}.parquet").exists()
    assert (tmp_path / "quarantine-b-broken-rows.csv.parquet").exists()


def _job(folder: Path, name: str, size: int) -> Any:
    """The ValidationJob of orders file `name` landed in `folder` (silver and quarantine
    written beside it)."""
    from datetime import UTC, datetime

    from medalist.config import DatasetSpec, Format
    from medalist.engine import FileSpec, ValidationJob

    dataset = DatasetSpec.model_validate(ORDERS_CONTRACT)
    return ValidationJob(
        file=FileSpec(str(folder / name), Format.csv, dataset.csv, ",", frozenset(), size),
        dataset_name="orders",
        dataset=dataset,
        mapping={c: c for c in dataset.columns},
        extras={},
        run_id=f"run-{name}",
        source_file=f"orders/{name}",
        ingested_at=datetime(2026, 12, 3, tzinfo=UTC),
        silver_url=str(folder / f"silver-{name}.parquet"),
        quarantine_url=str(folder / f"quarantine-{name}.parquet"),
    )
