"""medalist extract against the real PostgreSQL and the real MariaDB: rows land as Parquet
exactly once, the mark moves only with a published file, ties at a cut are not lost."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from medalist.errors import ConfigError
from medalist.integration.extract import STATE, extract
from medalist.notify import headline, run_message
from medalist.runlog import Status
from medalist.wiring import local_ports
from tests.conftest import ORDERS_CONTRACT
from tests.integration.conftest import SourceDb
from tests.integration.lakes import LAKES, Lake

BASE = datetime(2026, 11, 24, 8, 0, 0)


def orders(ids: range, touched: datetime = BASE, status: str = "PAID") -> list[tuple[Any, ...]]:
    """Rows whose updated_at is shared by runs of 7 ids: ties wherever a file is cut."""
    return [
        (
            i,
            BASE + timedelta(minutes=i),
            i % 50,
            1 + i % 5,
            Decimal(i % 997) / 100,
            status,
            touched + timedelta(seconds=i // 7),
        )
        for i in ids
    ]


def project_for(
    make_lake: Callable[..., Lake], url: str, kind: str = "local", **table: Any
) -> Lake:
    return make_lake(
        kind,
        datasets={"orders": {**ORDERS_CONTRACT, "source": "orders/*.parquet"}},
        sources={
            "erp": {
                "url": url,
                "tables": {"orders": {"dataset": "orders", "cursor": "updated_at", **table}},
            }
        },
    )


def landed(lake: Lake) -> dict[str, list[int]]:
    """order_ids of each landed Parquet file, by file name."""
    rows = lake.rows("orders", "SELECT order_id FROM files")
    return {name: [r[0] for r in found] for name, found in rows.items()}


def run_extract(lake: Lake) -> Any:
    (run,) = extract(lake.pipeline, lake.ports, "erp")
    return run


@pytest.mark.parametrize("kind", LAKES)
def test_incremental_extract_lands_each_row_once_then_only_changes(
    make_lake: Callable[..., Lake], source_db: SourceDb, kind: str
) -> None:
    project = project_for(make_lake, source_db.url, kind, rows_per_file=1000)
    source_db.insert_orders(orders(range(1, 2501)))

    first = run_extract(project)
    assert first.status == Status.SUCCEEDED, first.error
    files = landed(project)
    assert len(files) == 3  # 2500 rows cut near every 1000, between distinct updated_at values
    ids = Counter(i for f in files.values() for i in f)
    assert set(ids) == set(range(1, 2501)) and max(ids.values()) == 1
    assert first.rows_in == 2500 and first.outputs[STATE]["mark"]["value"].startswith("2026-11-24")
    assert headline(run_message(first)).endswith(
        "2500 rows landed in " + f"{first.duration_s:.2f}s"
    )

    later = BASE + timedelta(days=1)
    source_db.execute("UPDATE orders SET status = 'REFUNDED' WHERE order_id <= 10")
    source_db.execute(
        "UPDATE orders SET updated_at = %s WHERE order_id <= 10".replace("%s", f"'{later}'")
    )
    source_db.insert_orders(orders(range(2501, 2506), touched=later))
    second = run_extract(project)
    new = {k: v for k, v in landed(project).items() if k not in files}
    assert sorted(i for f in new.values() for i in f) == [*range(1, 11), *range(2501, 2506)]
    assert second.rows_in == 15

    third = run_extract(project)
    assert third.status == Status.SUCCEEDED and third.rows_in == 0
    assert len(landed(project)) == 4  # nothing new: no file


def test_rows_sharing_the_cursor_value_at_a_cut_land_in_one_file(
    make_lake: Callable[..., Lake], source_db: SourceDb
) -> None:
    project = project_for(make_lake, source_db.url, rows_per_file=10)
    source_db.insert_orders(orders(range(1, 200)))
    run_extract(project)
    # updated_at groups ids by i // 7: a group never straddles two files
    groups = {name: {i // 7 for i in ids} for name, ids in landed(project).items()}
    names = list(groups)
    for a, b in itertools.pairwise(names):
        assert not groups[a] & groups[b], (a, b)
    assert sum(len(v) for v in landed(project).values()) == 199


def test_full_mode_lands_a_snapshot_each_time(
    make_lake: Callable[..., Lake], source_db: SourceDb
) -> None:
    project = make_lake(
        "local",
        datasets={"orders": {**ORDERS_CONTRACT, "source": "orders/*.parquet"}},
        sources={
            "erp": {
                "url": source_db.url,
                "tables": {"orders": {"dataset": "orders", "mode": "full"}},
            }
        },
    )
    source_db.insert_orders(orders(range(1, 51)))
    run_extract(project)
    run_extract(project)
    snapshots = list(landed(project).values())
    assert len(snapshots) == 2 and all(sorted(s) == list(range(1, 51)) for s in snapshots)


def test_extracted_files_run_through_the_pipeline(
    make_lake: Callable[..., Lake], source_db: SourceDb
) -> None:
    project = project_for(make_lake, source_db.url)
    source_db.insert_orders(orders(range(1, 101)))
    run_extract(project)
    outcome = project.run()
    assert [r.status for r in outcome.runs] == [Status.SUCCEEDED]
    assert outcome.runs[0].rows_silver == 100
    # the extract's own run is in the run log beside the file's run, and not run again
    runs = local_ports(project.pipeline).runlog.list(dataset="orders")
    assert {r.file.split("/")[0] for r in runs} == {"extract:erp", "orders"}
    assert project.run().runs == []


def test_a_failed_extract_is_logged_alerts_and_keeps_the_mark(
    make_lake: Callable[..., Lake], source_db: SourceDb
) -> None:
    project = project_for(make_lake, source_db.url, table="no_such_table")
    run = run_extract(project)
    assert run.status == Status.FAILED and run.state == STATE
    assert "no_such_table" in run.error["message"]
    assert run.outputs[STATE]["mark"] is None and landed(project) == {}
    alerts = (project.project.root / "lake" / "_medalist" / "notifications.jsonl").read_text()
    alert = json.loads(alerts.splitlines()[-1])
    assert alert["event"] == "FAIL" and alert["file"] == "extract:erp/orders"


def test_a_dataset_that_cannot_take_parquet_is_refused_with_the_fix(
    make_lake: Callable[..., Lake], pg_url: str
) -> None:
    project = make_lake(
        "local",
        sources={
            "erp": {"url": pg_url, "tables": {"orders": {"dataset": "orders", "cursor": "x"}}}
        },
    )
    with pytest.raises(ConfigError, match=r"sources.erp.tables.orders.dataset.*orders/\*.parquet"):
        run_extract(project)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"dataset": "orders"}, "incremental needs a cursor column"),
        ({"dataset": "orders", "cursor": "u", "mode": "full"}, "mode full takes no cursor"),
        ({"dataset": "orders", "cursr": "u"}, "Did you mean 'cursor'"),
    ],
    ids=["no-cursor", "full-with-cursor", "typo"],
)
def test_source_tables_are_checked_when_loading(
    make_lake: Callable[..., Lake], table: dict[str, str], message: str
) -> None:
    project = make_lake(
        "local", sources={"erp": {"url": "postgresql://x/y", "tables": {"t": table}}}
    )
    with pytest.raises(ConfigError, match=message):
        _ = project.pipeline


def test_no_lake_path_is_left_staged_after_a_failure(
    make_lake: Callable[..., Lake], source_db: SourceDb, tmp_path: Path
) -> None:
    project = project_for(make_lake, source_db.url, table="no_such_table")
    run_extract(project)
    assert not list((project.project.landing).rglob(".staging/*"))


def test_a_row_committed_later_with_the_mark_value_still_lands_once(
    make_lake: Callable[..., Lake], source_db: SourceDb
) -> None:
    project = project_for(make_lake, source_db.url)
    source_db.insert_orders(orders(range(1, 15)))  # ids 7..13 share the last updated_at
    first = run_extract(project)
    assert len(first.outputs[STATE]["mark"]["keys"]) == 1  # id 14 alone has the last value
    late = orders(range(20, 21))[0]
    source_db.insert_orders([(*late[:6], orders(range(14, 15))[0][6])])  # id 20, same value
    run_extract(project)
    ids = Counter(i for f in landed(project).values() for i in f)
    assert ids == Counter(range(1, 15)) + Counter([20])


def test_a_database_that_is_down_fails_the_run_as_transient_without_the_password(
    make_lake: Callable[..., Lake],
) -> None:
    project = project_for(make_lake, "postgresql://reader:s3cret@127.0.0.1:1/erp")
    run = run_extract(project)
    assert run.status == Status.FAILED and run.error["kind"] == "transient", run.error
    assert "s3cret" not in json.dumps(run.error) and "127.0.0.1:1" in run.error["message"]


def test_the_extract_run_is_on_the_dashboard_like_any_run(
    make_lake: Callable[..., Lake], pg_url: str
) -> None:
    from fastapi.testclient import TestClient

    from medalist.access import Users
    from medalist.web.app import create_app
    from tests.integration.conftest import ORDERS_DDL

    source = SourceDb(pg_url)
    source.execute(ORDERS_DDL)
    source.insert_orders(orders(range(1, 11)))
    project = project_for(make_lake, pg_url)
    run = run_extract(project)
    token = Users(project.pipeline).add("ann", "admin")
    client = TestClient(create_app(project.pipeline))
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/runs", headers=auth).json()
    assert any(r["run_id"] == run.run_id and r["state"] == STATE for r in listed)
    page = client.get(f"/runs/{run.run_id}", headers=auth)
    assert page.status_code == 200 and "extract:erp/orders" in page.text
    assert f'<details class="state-log" data-state="{STATE}"' in page.text  # its own log


def test_show_names_the_extracted_table_not_a_landing_file(
    make_lake: Callable[..., Lake], pg_url: str
) -> None:
    import io

    from rich.console import Console

    from medalist.render import run_detail
    from tests.integration.conftest import ORDERS_DDL

    source = SourceDb(pg_url)
    source.execute(ORDERS_DDL)
    source.insert_orders(orders(range(1, 11)))
    run = run_extract(project_for(make_lake, pg_url))
    console = Console(width=200, record=True, file=io.StringIO())
    for part in run_detail(run):
        console.print(part)
    text = console.export_text()
    assert "extract:erp/orders (" in text and "landing/extract:" not in text
    assert "sha256" not in text  # an extract's file_hash is its run id, not a content hash


def test_landed_files_state_their_cursor_range_and_skip_the_other_columns_statistics() -> None:
    """Decision 0041: min/max of the cursor tells a reader a file's range; the rest cost a
    fifth of the writer's CPU and nothing reads them."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from medalist.integration.extract import parquet_options

    batch = pa.record_batch({"id": [3, 1, 2], "status": ["PAID", "PAID", "X"], "at": [1, 2, 5]})
    for cursor, expected in (("at", {"at": (1, 5)}), (None, {})):
        sink = io.BytesIO()
        with pq.ParquetWriter(sink, batch.schema, **parquet_options(batch.schema, cursor)) as w:
            w.write_batch(batch)
        group = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata.row_group(0)
        columns = [group.column(i) for i in range(group.num_columns)]
        stats = {c.path_in_schema: (c.statistics.min, c.statistics.max) for c in columns
                 if c.is_stats_set}  # fmt: skip
        assert stats == expected
