"""The lake the browser tests look at, served once per test session: a run with rows
quarantined (one too wide to read in a cell), a drifted (WARN) run, a failed run, a file no
dataset reads, a dataset that never got a file, two models (one reading the other), alerts
never delivered, and a comment in pipeline.yaml."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medalist.access import Users
from medalist.runlog import RunRecord
from medalist.web.app import create_app
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT, Project
from tests.web.browser import serve

WIDE = "x" * 300  # a status value no one can read in one table cell
GOOD = (
    HEADER
    + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n"
    + "2,2026-11-24 10:00:00,7,0,1.00,PAID\n"  # quantity 0: quarantined
    + f"3,2026-11-24 11:00:00,8,1,2.50,{WIDE}\n"  # not an accepted status: quarantined
)
DRIFTED = (  # a new column, coupon: evolves the schema, so the run is WARN
    "order_id,order_ts,customer_id,quantity,unit_price,status,coupon\n"
    "4,2026-11-25 09:00:00,9,3,4.00,PAID,XMAS\n"
)
CONTRACT = {**copy.deepcopy(ORDERS_CONTRACT), "on_schema_drift": "evolve"}
NOTE = "    # one file a day from the shop's export (a comment: kept on the dataset page)"
REFUNDS = {"source": "refunds/*.csv", "columns": {"order_id": {"type": "bigint"}}}
TOP_DAYS = {"sql": "SELECT day, revenue FROM gold.daily_sales WHERE revenue > 0"}


@dataclass(frozen=True)
class Site:
    base: str
    project: Project
    runs: dict[str, RunRecord]  # by file
    tokens: dict[str, str]  # by role: engineer, analyst


def served_site(root: Path) -> Iterator[Site]:
    root.mkdir(parents=True)
    project = Project(
        root,
        {
            "name": "shop",
            # refunds never got a file: a stale dataset
            "datasets": {"orders": CONTRACT, "refunds": REFUNDS},
            "models": {"daily_sales": DAILY_SALES, "top_days": TOP_DAYS},
            # nothing listens there: its alerts stay in the outbox, undelivered
            "notifications": [
                {"type": "webhook", "url": "http://127.0.0.1:9/hook", "timeout_s": 1}
            ],
        },
    )
    written = project.config_path.read_text()  # a comment, as people write them
    assert "\n  orders:\n" in written
    project.config_path.write_text(written.replace("\n  orders:\n", f"\n  orders:\n{NOTE}\n"))
    project.land("orders/2026-11-24.csv", GOOD)
    project.land("orders/2026-11-25.csv", DRIFTED)
    project.land("orders/2026-11-26.csv", b"\x00binary")
    project.land("ORDERS.CSV", GOOD)  # at the root of landing: no dataset reads it
    runs = {r.file: r for r in project.run().runs}
    pipeline = project.pipeline
    users = Users(pipeline)
    tokens = {"engineer": users.add("erin", "engineer"), "analyst": users.add("ann", "analyst")}
    for base in serve(create_app(pipeline)):
        yield Site(base, project, runs, tokens)
