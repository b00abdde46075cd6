"""Bursts of small files run together (medalist/batching.py, decision 0028), and every file
keeps its own run, lineage, failure and replay."""

from __future__ import annotations

from pathlib import Path

from medalist.loader import load_pipeline
from medalist.operate import replay_dataset
from medalist.runlog import Status
from medalist.wiring import local_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.conftest import HEADER, read_table


def _day(day: int, first: int, rows: int = 3) -> str:
    lines = [f"{first + i},2026-11-{day:02d} 09:00:00,{i},1,2.00,PAID" for i in range(rows)]
    return HEADER + "\n".join(lines) + "\n"


def test_a_burst_runs_as_one_batch_and_each_file_keeps_its_run_lineage_and_replay(
    make_project, pg_url
):
    project = make_project(pg_url, batch={"max_files": 3})
    for day in range(1, 5):
        project.land(f"orders/2026-11-{day:02d}.csv", _day(day, day * 100))
    project.land("orders/2026-11-05.csv", "order_id;status\n1;PAID\n")  # fails Crawl alone
    # a correction of day 1's first order in day 2's file: the later file wins in the batch
    project.land("orders/2026-11-02.csv", _day(2, 200) + "100,2026-11-01 09:00:00,0,5,2.00,PAID\n")

    outcome = project.run()

    by_file = {r.file: r for r in outcome.runs}
    assert len(by_file) == 5
    assert by_file["orders/2026-11-05.csv"].status == Status.FAILED
    assert "required column" in by_file["orders/2026-11-05.csv"].error["message"]
    good = [r for f, r in by_file.items() if not f.endswith("05.csv")]
    assert all(r.status == Status.SUCCEEDED and r.rows_silver for r in good)
    # the first three ran as one batch: one gold version, built once for them
    first = [by_file[f"orders/2026-11-{d:02d}.csv"].outputs["Transform"] for d in (1, 2, 3)]
    assert len({t["gold_version"] for t in first}) == 1
    silver = read_table(pg_url, "silver.orders", "order_id")
    assert len(silver) == 12 and {r[0] for r in silver} >= {100, 200, 300, 400}
    sources = {
        order: (source, quantity)
        for order, source, quantity in _query(
            pg_url, "SELECT order_id, _source_file, quantity FROM silver.orders"
        )
    }
    assert sources[100] == ("orders/2026-11-02.csv", 5)  # the correction, from its own file
    assert sources[400] == ("orders/2026-11-04.csv", 1)
    gold = dict(_query(pg_url, "SELECT day::text, orders FROM gold.daily_sales"))
    assert gold == {"2026-11-01": 3, "2026-11-02": 3, "2026-11-03": 3, "2026-11-04": 3}

    pipeline = load_pipeline(project.config_path)
    ports = local_ports(pipeline)
    replayed = replay_dataset(
        pipeline, ports, Runner(INGEST), "orders", file="orders/2026-11-03.csv"
    ).runs
    assert [r.status for r in replayed] == [Status.SUCCEEDED]
    assert replayed[0].replaces == by_file["orders/2026-11-03.csv"].run_id
    assert len(read_table(pg_url, "silver.orders", "order_id")) == 12
    assert project.run().runs == []  # nothing new: each file ran exactly once


def _query(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as con:
        return con.execute(sql).fetchall()


def test_a_file_that_breaks_the_shared_gold_build_splits_the_batch_and_fails_alone(make_project):
    # the model cannot cast 'x': only rows with customer 666 make it fail
    model = {
        "sql": "SELECT customer_id, CAST(CASE WHEN customer_id = 666 THEN 'x' ELSE '1' END "
        "AS INTEGER) AS ok FROM silver.orders",
    }
    project = make_project(models={"checked": model}, batch={"max_files": 10})
    project.land("orders/2026-11-01.csv", _day(1, 100))
    project.land("orders/2026-11-02.csv", HEADER + "200,2026-11-02 09:00:00,666,1,2.00,PAID\n")
    project.land("orders/2026-11-03.csv", _day(3, 300))

    outcome = project.run()

    status = {r.file: (r.status, r.state) for r in outcome.runs}
    assert status == {
        "orders/2026-11-01.csv": (Status.SUCCEEDED, "Load"),
        "orders/2026-11-02.csv": (Status.FAILED, "Transform"),
        "orders/2026-11-03.csv": (Status.SUCCEEDED, "Load"),
    }
    failed = next(r for r in outcome.runs if r.status == Status.FAILED)
    assert "gold model checked failed" in failed.error["message"]
    silver = {r["order_id"] for r in project.parquet("silver/orders/*.parquet")}
    assert silver == {100, 101, 102, 300, 301, 302}


def test_a_burst_sniffs_a_header_once_and_a_file_whose_quote_never_closes_still_fails_alone(
    make_project,
):
    # decision 0046: the batch's files with the same header line share one sniff of it
    project = make_project(batch={"max_files": 10})
    for day in (1, 2, 3):
        project.land(f"orders/2026-11-{day:02d}.csv", _day(day, day * 100))
    # the same header; customer_id left empty in every row (sniffed alone: another type)
    empty = [f"{400 + i},2026-11-04 09:00:00,,1,2.00,PAID" for i in range(3)]
    project.land("orders/2026-11-04.csv", HEADER + "\n".join(empty) + "\n")
    broken = (Path(__file__).parent / "cases/bad/orders/unterminated_quote.csv").read_text()
    project.land("orders/2026-11-05.csv", broken)

    outcome = project.run()

    by_file = {r.file: r for r in outcome.runs}
    failed = by_file.pop("orders/2026-11-05.csv")
    assert failed.status == Status.FAILED
    assert "opened on line 5 is never closed" in failed.error["message"]
    assert all(r.status == Status.SUCCEEDED for r in by_file.values())
    crawled = [r.outputs["Crawl"] for r in by_file.values()]
    assert all(c["columns"] == crawled[0]["columns"] for c in crawled)
    assert {c["schema_version"] for c in crawled} == {1}
    silver = project.parquet("silver/orders/*.parquet")
    assert sorted(r["order_id"] for r in silver) == [
        n for day in (1, 2, 3, 4) for n in range(day * 100, day * 100 + 3)
    ]
    assert {r["customer_id"] for r in silver if r["order_id"] >= 400} == {None}


def test_a_later_burst_of_new_keys_and_one_of_corrections_both_reach_postgres(make_project, pg_url):
    project = make_project(pg_url, batch={"max_files": 10})
    for day in (1, 2):
        project.land(f"orders/2026-11-{day:02d}.csv", _day(day, day * 100))
    project.run()
    for day in (3, 4):  # new keys only: inserted into the table, not merged
        project.land(f"orders/2026-11-{day:02d}.csv", _day(day, day * 100))
    assert all(r.status == Status.SUCCEEDED for r in project.run().runs)
    project.land("orders/2026-11-05.csv", _day(5, 500))  # a correction of order 100: merged
    project.land("orders/2026-11-06.csv", HEADER + "100,2026-11-01 09:00:00,0,7,2.00,PAID\n")
    assert all(r.status == Status.SUCCEEDED for r in project.run().runs)

    rows = dict(_query(pg_url, "SELECT order_id, quantity FROM silver.orders"))
    assert sorted(rows) == [n for d in (1, 2, 3, 4, 5) for n in range(d * 100, d * 100 + 3)]
    assert rows[100] == 7 and rows[400] == 1


def test_a_burst_loses_no_line_of_a_file_whose_last_quote_never_closes(make_project):
    """The quote left open is past the rows DuckDB's sniffer samples, so Crawl accepts the
    file; DuckDB's read of many files would drop that last line without setting it aside (the
    fifth file of a read on). The file is validated alone, so the line is counted and
    quarantined, as in a run of its own (decision 0046)."""
    project = make_project(batch={"max_files": 10})
    for day in range(1, 7):
        project.land(f"orders/2026-11-{day:02d}.csv", _day(day, day * 100))
    rows = 30_000  # DuckDB samples 20,480 rows by default
    open_quote = _day(7, 10_000, rows) + '99,2026-11-07 09:00:00,3,1,2.00,"PAID\n'
    project.land("orders/2026-11-07.csv", open_quote)

    outcome = project.run()

    (run,) = [r for r in outcome.runs if r.file == "orders/2026-11-07.csv"]
    assert run.status == Status.SUCCEEDED, (run.state, run.error)
    assert (run.rows_in, run.rows_silver, run.rows_quarantined) == (rows + 1, rows, 1)


def test_a_burst_sends_its_silver_to_postgres_while_gold_is_built_unseen_until_load(
    make_project, pg_url, monkeypatch
):
    """Decision 0057: the batch's silver rows go into PostgreSQL on a thread as soon as its
    files are validated, so that PostgreSQL's work overlaps gold's build and the commits; the
    transaction stays open until Load, so readers see nothing of the batch before then."""
    import threading

    from medalist.states import batch_load, transform

    sent = threading.Event()
    seen_during_gold: list[object] = []
    send, build = batch_load._send_silver, transform.build_gold

    def sending(*args, **kwargs):
        try:
            return send(*args, **kwargs)
        finally:
            sent.set()

    def building(*args, **kwargs):
        assert sent.wait(60), "the batch's silver was not sent while gold was built"
        seen_during_gold.append(_query(pg_url, "SELECT to_regclass('silver.orders')")[0][0])
        return build(*args, **kwargs)

    monkeypatch.setattr(batch_load, "_send_silver", sending)
    monkeypatch.setattr(transform, "build_gold", building)
    project = make_project(pg_url, batch={"max_files": 10})
    for day in (1, 2, 3):
        project.land(f"orders/2026-11-{day:02d}.csv", _day(day, day * 100))
    project.land("orders/2026-11-04.csv", _day(4, 400) + "100,2026-11-01 09:00:00,0,9,2.00,PAID\n")

    assert all(r.status == Status.SUCCEEDED for r in project.run().runs)

    assert seen_during_gold == [None]  # sent, not committed: no reader saw the table yet
    rows = dict(_query(pg_url, "SELECT order_id, quantity FROM silver.orders"))
    assert sorted(rows) == [n for d in (1, 2, 3, 4) for n in range(d * 100, d * 100 + 3)]
    assert rows[100] == 9  # the later file's correction, as in a load after Transform


def test_a_batch_that_splits_after_sending_its_silver_leaves_nothing_of_it_in_postgres(
    make_project, pg_url
):
    """The rows sent ahead are rolled back when gold fails on one file: the others go on
    alone and load their own rows; the failed file's never reach PostgreSQL."""
    model = {
        "sql": "SELECT customer_id, CAST(CASE WHEN customer_id = 666 THEN 'x' ELSE '1' END "
        "AS INTEGER) AS ok FROM silver.orders",
    }
    project = make_project(pg_url, models={"checked": model}, batch={"max_files": 10})
    project.land("orders/2026-11-01.csv", _day(1, 100))
    project.land("orders/2026-11-02.csv", HEADER + "200,2026-11-02 09:00:00,666,1,2.00,PAID\n")
    project.land("orders/2026-11-03.csv", _day(3, 300))

    outcome = project.run()

    assert sorted(r.status for r in outcome.runs) == [
        Status.FAILED, Status.SUCCEEDED, Status.SUCCEEDED
    ]  # fmt: skip
    loaded = {n for (n,) in _query(pg_url, "SELECT order_id FROM silver.orders")}
    assert loaded == {100, 101, 102, 300, 301, 302}
    idle = _query(
        pg_url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%'",
    )
    assert idle == [(0,)]
