"""Which adapter serves each port, chosen from pipeline.yaml: folders or S3 for the zones, the
SQLite metastore or DynamoDB for the run log, the metastore or Glue for the catalog, DuckDB as
the engine (with an S3 filesystem when the zones are on S3), and the configured destination
and notification channels. The AWS adapters are imported only when configured: a local
pipeline needs none of their packages. The engine and destination (DuckDB, Arrow) only when
first opened: the deployed controller function ships without them (decision 0035)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medalist.catalog import Catalog
from medalist.catalog.sqlite import SqliteCatalog
from medalist.config import ALL_ZONES, Pipeline
from medalist.locations import is_s3, parse_dynamodb, parse_glue, parse_s3
from medalist.notify import open_notifiers
from medalist.runlog import Outbox, RunLog
from medalist.runlog.sqlite import SqliteRunLog
from medalist.storage import Storage, Zone
from medalist.storage.local import LocalStorage
from medalist.workflow.context import Ports

if TYPE_CHECKING:
    from medalist.destination import Destination
    from medalist.engine import Engine
    from medalist.engine.console import ConsoleSandbox, SandboxPlan


def open_ports(pipeline: Pipeline) -> Ports:
    """The ports of `pipeline`, each from the adapter its configuration names."""
    storage = open_storage(pipeline)
    runlog, outbox = open_runlog(pipeline)
    filesystems: list[Any] = []  # made once, when the first engine opens

    def engine() -> Engine:
        if not filesystems:
            filesystems.append(engine_filesystem(pipeline))
        return open_engine(pipeline, pipeline.state_dir / "tmp", filesystems[0])

    return Ports(
        storage=storage,
        catalog=open_catalog(pipeline, storage),
        runlog=runlog,
        outbox=outbox,
        notifiers=open_notifiers(pipeline),
        engine=engine,
        destination=lambda: _destination(pipeline),
    )


def _destination(pipeline: Pipeline) -> Destination:
    from medalist.destination import open_destination

    return open_destination(pipeline.destination_url)


def local_ports(pipeline: Pipeline) -> Ports:
    """The local adapters (folders, SQLite, DuckDB): what open_ports gives a local pipeline."""
    lake = pipeline.lake_path
    runlog = SqliteRunLog(lake)
    return Ports(
        storage=LocalStorage(lake),
        catalog=SqliteCatalog(lake),
        runlog=runlog,
        outbox=runlog,
        notifiers=open_notifiers(pipeline),
        engine=lambda: open_engine(pipeline, lake / "_medalist" / "tmp"),
        destination=lambda: _destination(pipeline),
    )


def open_engine(pipeline: Pipeline, temp_dir: Path, filesystem: Any | None = None) -> Engine:
    """DuckDB (the default) or Spark, as pipeline.yaml's `engine:` says. Imported here, when
    first opened: the slim functions zip has neither (decision 0035)."""
    if pipeline.engine == "spark":
        from medalist.engine.spark import SparkEngine

        return SparkEngine(pipeline.spark, temp_dir)
    from medalist.engine.duckdb import DuckDBEngine

    return DuckDBEngine(pipeline.memory_limit, temp_dir, filesystem=filesystem)


def open_console(pipeline: Pipeline, plan: SandboxPlan) -> AbstractContextManager[ConsoleSandbox]:
    """The console's sandbox holding `plan`: DuckDB whatever the pipeline's engine (Athena's
    part in the AWS design), reading the zones through the pipeline's filesystem."""
    from medalist.engine.duckdb.console import open_sandbox

    return open_sandbox(plan, engine_filesystem(pipeline))


def quarantine_rows(
    pipeline: Pipeline, url: str, page: int, per: int
) -> tuple[list[str], list[tuple[Any, ...]], int]:
    """One page of a quarantine file's rows by source row, and how many it holds (DuckDB
    through the pipeline's filesystem, as the console reads)."""
    from medalist.engine.duckdb.console import quarantine_page

    return quarantine_page(url, page, per, engine_filesystem(pipeline))


def s3_roots(pipeline: Pipeline) -> dict[Zone, str]:
    """zone -> s3://bucket/prefix for a lake on S3; _medalist only under an s3:// lake."""
    roots: dict[Zone, str] = {zone: pipeline.zone_url(zone) for zone in ALL_ZONES}
    if is_s3(pipeline.lake):
        roots["_medalist"] = parse_s3(pipeline.lake).child("_medalist").url
    return roots


def open_storage(pipeline: Pipeline) -> Storage:
    if not pipeline.lake_on_s3:
        return LocalStorage(pipeline.lake_path)
    from medalist.storage.s3 import S3Storage

    return S3Storage(s3_roots(pipeline), pipeline.aws_target)


def open_runlog(pipeline: Pipeline) -> tuple[RunLog, Outbox]:
    """The run log and the alert outbox (one store: an alert is queued in the same
    transaction that ends its run)."""
    if pipeline.runlog is None:
        runlog = SqliteRunLog(pipeline.lake_path)
        return runlog, runlog
    from medalist.runlog.dynamodb import DynamoRunLog  # type: ignore[import-not-found,unused-ignore]

    dynamo = DynamoRunLog(parse_dynamodb(pipeline.runlog), pipeline.aws_target)
    return dynamo, dynamo


def open_catalog(pipeline: Pipeline, storage: Storage) -> Catalog:
    if pipeline.catalog is not None:
        from medalist.catalog.glue import GlueCatalog  # type: ignore[import-not-found,unused-ignore]

        glue: Catalog = GlueCatalog(parse_glue(pipeline.catalog), pipeline.aws_target, storage)
        return glue
    if pipeline.lake_on_s3:  # one machine's catalog: decision 0019
        return SqliteCatalog(pipeline.state_dir, metastore=pipeline.state_dir / "metastore.sqlite")
    return SqliteCatalog(pipeline.lake_path)


def engine_filesystem(pipeline: Pipeline) -> Any | None:
    """The fsspec filesystem a DuckDB of this pipeline reads and writes its zones through:
    s3fs for a lake on S3, none (DuckDB's own files) for a local lake."""
    if not pipeline.lake_on_s3:
        return None
    from medalist.storage.s3 import s3_filesystem

    return s3_filesystem(pipeline.aws_target)
