"""The zones as the engine sees them (silver.<dataset>, gold.<model> views), and the sweep that
removes what committed runs have superseded.

What readers see is decided by the run log, not by which files exist: silver is the files of
live runs (Transform committed, not replaced by a replay), gold is the version its head names.
A file published by a run that crashed before committing is therefore invisible until the run
is redone, and the swap to a new gold version is one run-log transaction.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import PurePosixPath

from medalist.catalog import PublishedTable, SupportsPublishing
from medalist.config import Pipeline
from medalist.engine import Engine
from medalist.errors import as_medalist_error
from medalist.runlog import RunRecord, Status
from medalist.storage import Zone
from medalist.workflow.context import Ports, RunContext

LINEAGE_TYPES = {
    "_run_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_ingested_at": "TIMESTAMPTZ",
    "_source_row": "BIGINT",
}


def run_lineage(run: RunRecord, ingested_at: str | None) -> dict[str, object]:
    """The lineage one run puts on every silver row, as constants a destination may send
    once: loading ahead and Load must send the same."""
    constants: dict[str, object] = {"_run_id": run.run_id, "_source_file": run.file}
    if ingested_at:
        constants["_ingested_at"] = ingested_at
    return constants


STAGED_ZONES: tuple[Zone, ...] = ("silver", "quarantine", "gold")  # where states stage outputs


def run_file(dataset: str, run_id: str) -> str:
    """A run's file in silver/ and quarantine/: <dataset>/<run_id>.parquet."""
    return f"{dataset}/{run_id}.parquet"


def gold_path(model: str, version: str) -> str:
    """One version of a model: gold/<model>/<version>.parquet (version = the run that built it)."""
    return f"{model}/{version}.parquet"


def _run_of(path: str) -> str:
    return PurePosixPath(path).stem


def expose_silver(
    engine: Engine,
    ports: Ports,
    pipeline: Pipeline,
    staged: Mapping[str, str | list[str]] | None = None,
    replaced: str | None = None,
) -> None:
    """silver.<dataset> for every dataset: the files of its live runs, plus the staged file of
    the run in progress (`staged`: dataset -> url, or urls for a batch), so gold can be built
    before it commits; without the run that run replaces, if it is a replay."""
    staged = staged or {}
    for name, spec in pipeline.datasets.items():
        urls = live_silver(ports, name, replaced)
        if name in staged:
            more = staged[name]
            urls += [more] if isinstance(more, str) else more
        columns = {c: col.column_type.sql for c, col in spec.columns.items()} | LINEAGE_TYPES
        engine.expose("silver", name, urls, columns, spec.primary_key, spec.order_column)


def live_silver(ports: Ports, dataset: str, replaced: str | None = None) -> list[str]:
    """URLs of the silver files of a dataset's live runs (without the run `replaced`)."""
    live = ports.runlog.live_runs(dataset) - {replaced}
    return [
        ports.storage.url("silver", f.path)
        for f in ports.storage.find("silver", f"{dataset}/*.parquet")
        if _run_of(f.path) in live
    ]


def live_quarantine(ports: Ports, dataset: str) -> list[str]:
    """URLs of the quarantine files of a dataset's live runs."""
    live = ports.runlog.live_runs(dataset)
    return [
        ports.storage.url("quarantine", f.path)
        for f in ports.storage.find("quarantine", f"{dataset}/*.parquet")
        if _run_of(f.path) in live
    ]


def published_tables(ctx: RunContext) -> list[PublishedTable]:
    """What readers see now of the run's dataset (silver and quarantine files of live runs)
    and of every gold model (its head), with the columns of the newest file of each."""
    ports, engine, dataset = ctx.ports, ctx.engine, ctx.run.dataset
    silver, quarantine = live_silver(ports, dataset), live_quarantine(ports, dataset)
    # Run ids sort by time: the columns of each zone's newest file.
    tables = [
        PublishedTable(
            "silver", dataset, tuple(silver), engine.columns(silver[-1]) if silver else {}
        ),
        PublishedTable(
            "quarantine",
            dataset,
            tuple(quarantine),
            engine.columns(quarantine[-1]) if quarantine else {},
        ),
    ]
    head = ports.runlog.heads(ctx.pipeline.name).get("gold")
    for model in ctx.pipeline.models if head else ():
        url = ports.storage.url("gold", gold_path(model, head or ""))
        tables.append(PublishedTable("gold", model, (url,), engine.columns(url), exact=True))
    return tables


def publish_catalog(ctx: RunContext) -> None:
    """Point the catalog's tables (Glue, for Athena) at what the run log has just published.
    Called right after an exclusive state's commit, so under the pipeline's lock and in commit
    order. The tables are a view of the run log, rewritten whole each time: when this fails
    the run stands, and the next commit (this run's Load, or the next run) rewrites them."""
    catalog = ctx.ports.catalog
    if not isinstance(catalog, SupportsPublishing):
        return  # the SQLite catalog: medalist's readers ask the run log themselves
    try:
        catalog.publish(published_tables(ctx))
    except Exception as exc:  # e.g. Glue unreachable, or a file's footer unreadable
        err = as_medalist_error(exc, ctx.run.state or "")
        print(f"medalist: the catalog's tables are not updated yet: {err}", file=sys.stderr)


def sweep(ports: Ports, pipeline: Pipeline) -> list[str]:
    """Delete what no reader can see any more: silver and quarantine files of replaced runs,
    gold versions other than the head, staged files of runs that are no longer running.
    Call it holding the pipeline's lock. Returns the zone/paths removed."""
    storage, runlog = ports.storage, ports.runlog
    running = {r.run_id for r in runlog.list(status=Status.RUNNING, limit=None)}
    removed: list[str] = []
    for name in pipeline.datasets:
        live = runlog.live_runs(name)
        replaced = runlog.replaced_runs(name)
        for zone in ("silver", "quarantine"):
            for f in storage.find(zone, f"{name}/*.parquet"):
                run_id = _run_of(f.path)
                if run_id in replaced and run_id not in live and run_id not in running:
                    storage.remove(zone, f.path)
                    removed.append(f"{zone}/{f.path}")
    head = runlog.heads(pipeline.name).get("gold")
    if head:
        for model in pipeline.models:
            for f in storage.find("gold", f"{model}/*.parquet"):
                if _run_of(f.path) != head and _run_of(f.path) not in running:
                    storage.remove("gold", f.path)
                    removed.append(f"gold/{f.path}")
    for zone in STAGED_ZONES:
        removed += [f"{zone}/{p}" for p in storage.discard_staged(zone, keep=running)]
    return removed


def expose_gold(engine: Engine, ports: Ports, pipeline: Pipeline) -> str | None:
    """gold.<model> for every model, at the version the head names; returns that version."""
    head = ports.runlog.heads(pipeline.name).get("gold")
    for name, model in pipeline.models.items():
        if model.run_in == "destination":
            continue  # its table lives in the destination only
        urls = [ports.storage.url("gold", gold_path(name, head))] if head else []
        engine.expose("gold", name, urls, {}, [])
    return head
