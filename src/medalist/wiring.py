"""Which adapter serves each port. Locally: folders, SQLite, DuckDB, and the configured
destination and notification channels."""

from __future__ import annotations

from medalist.catalog.sqlite import SqliteCatalog
from medalist.config import Pipeline
from medalist.destination import open_destination
from medalist.engine.duckdb import DuckDBEngine
from medalist.notify import open_notifiers
from medalist.runlog.sqlite import SqliteRunLog
from medalist.storage.local import LocalStorage
from medalist.workflow.context import Ports


def local_ports(pipeline: Pipeline) -> Ports:
    lake = pipeline.lake_path
    runlog = SqliteRunLog(lake)
    return Ports(
        storage=LocalStorage(lake),
        catalog=SqliteCatalog(lake),
        runlog=runlog,
        outbox=runlog,
        notifiers=open_notifiers(pipeline),
        engine=lambda: DuckDBEngine(pipeline.memory_limit, lake / "_medalist" / "tmp"),
        destination=lambda: open_destination(pipeline.destination_url),
    )
