"""sources.*.schedule under medalist serve: the extract runs on its cron tick, and the files it
lands are run right after."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from medalist.metastore import now
from medalist.runlog import Status
from medalist.serve import Server
from medalist.wiring import local_ports
from tests.conftest import ORDERS_CONTRACT, Project
from tests.integration.conftest import ORDERS_DDL, SourceDb
from tests.integration.test_extract import orders


def test_serve_extracts_a_source_on_its_schedule_then_runs_the_files(
    make_project: Callable[..., Project], pg_url: str
) -> None:
    source = SourceDb(pg_url)
    source.execute(ORDERS_DDL)
    source.insert_orders(orders(range(1, 51)))
    real = now()  # a clock 1.5 s before the next minute, so "* * * * *" comes quickly
    offset = real.replace(second=0, microsecond=0) + timedelta(minutes=1) - real
    offset -= timedelta(seconds=1.5)
    project = make_project(
        datasets={"orders": {**ORDERS_CONTRACT, "source": "orders/*.parquet"}},
        trigger={"settle_seconds": 0},
        sources={
            "erp": {
                "url": pg_url,
                "schedule": "* * * * *",
                "tables": {"orders": {"dataset": "orders", "cursor": "updated_at"}},
            }
        },
    )
    log = io.StringIO()
    server = Server(
        project.pipeline, log, events=False, schedule=False, clock=lambda: now() + offset
    )
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    time.sleep(0.5)
    runlog = local_ports(project.pipeline).runlog
    assert runlog.list() == []  # not before the tick
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(runlog.list()) < 2:
        time.sleep(0.05)
    server.stop.set()
    server.wake.set()
    thread.join(timeout=30)

    runs = runlog.list()
    assert sorted(r.file.split(".")[0] for r in runs) == ["extract:erp/orders", "orders/erp"]
    assert all(r.status == Status.SUCCEEDED for r in runs)
    events = [json.loads(x)["event"] for x in log.getvalue().splitlines()]
    assert events.index("extract.finished") < events.index("run.finished")
