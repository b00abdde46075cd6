"""Load: silver and gold into the destination database, all tables in one transaction.

Load is an exclusive state: it first sweeps what committed runs superseded, then loads this
run's silver rows and the gold version the head names (which may be newer than this run's own,
when a later run committed in between: the destination always moves forward).
"""

from __future__ import annotations

from contextlib import ExitStack

import pyarrow as pa

from medalist.config import LoadMode, Pipeline
from medalist.destination import (
    Destination,
    LoadsObjects,
    SupportsModels,
    SupportsStaging,
    TableRef,
)
from medalist.destination.elt import ModelJob, run_models
from medalist.engine import Engine
from medalist.errors import TerminalError
from medalist.gold import input_contracts, models_in
from medalist.incremental import decomposable, model_tag
from medalist.states.lake import expose_silver, gold_path, live_silver, run_lineage, sweep
from medalist.states.results import LoadResult, TransformResult
from medalist.workflow.context import RunContext


def run(ctx: RunContext) -> LoadResult:
    sweep(ctx.ports, ctx.pipeline)
    loads_models = any(m.load_mode != LoadMode.none for m in ctx.pipeline.models.values())
    if ctx.dataset.load_mode == LoadMode.none and not loads_models:
        return LoadResult({})  # nothing goes to the destination: do not even connect
    destination = ctx.ports.destination()
    try:
        # All of this run's tables, or none of them: the models that run in the destination
        # too, so it never shows silver and gold from different runs.
        with destination.transaction():
            tables = _silver(ctx, destination) | _gold(ctx, destination)
            built, merged = _in_destination(ctx, destination)
    finally:
        destination.close()
    return LoadResult(tables | built, merged)


def _silver(ctx: RunContext, destination: Destination) -> dict[str, int]:
    dataset, run_, engine = ctx.dataset, ctx.run, ctx.engine
    mode = dataset.load_mode
    if mode == LoadMode.none:
        return {}
    transform: TransformResult | None = None
    if isinstance(destination, LoadsObjects):  # it reads the lake's objects itself (Redshift)
        return _silver_objects(ctx, destination)
    # A replay may remove rows an earlier run loaded: refresh the whole table from silver.
    if mode == LoadMode.replace or run_.replaces:
        mode = LoadMode.replace
        expose_silver(engine, ctx.ports, ctx.pipeline)
        data = engine.scan_table("silver", run_.dataset)
        constants: dict[str, object] = {}
    else:
        transform = ctx.result(TransformResult)
        silver_url = ctx.ports.storage.url("silver", transform.silver_path)
        data = engine.scan_file(silver_url)
        # One run's lineage is the same on every row: the destination may send it once.
        constants = run_lineage(run_, transform.ingested_at)
    table = TableRef("silver", run_.dataset)
    key = dataset.primary_key
    # Closing the readers even when the load fails frees the engine for a retry.
    with ExitStack() as readers:
        readers.enter_context(data)
        if transform is None:
            rows = destination.load(table, data, mode, key, run_.run_id, constants=constants)
        elif transform.staged_rows is not None and isinstance(destination, SupportsStaging):
            # loaded ahead during Transform (states/ahead.py): publish the stage
            rows = destination.load_staged(
                table, data, mode, key, run_.run_id, constants, transform.staged_rows
            )
        else:

            def reread() -> pa.RecordBatchReader:
                data.close()  # the engine takes one open result at a time (decision 0003)
                return readers.enter_context(engine.scan_file(silver_url))

            new_keys = mode == LoadMode.merge and transform.new_keys
            rows = destination.load(
                table,
                data,
                mode,
                key,
                run_.run_id,
                constants=constants,
                reread=reread if new_keys else None,
            )
    return {str(table): rows}


def _silver_objects(ctx: RunContext, destination: LoadsObjects) -> dict[str, int]:
    """The run's silver object (every live one, for a replace or a replay) loaded by a
    destination that reads the lake itself."""
    run_, mode = ctx.run, ctx.dataset.load_mode
    if mode == LoadMode.replace or run_.replaces:
        mode, urls = LoadMode.replace, live_silver(ctx.ports, run_.dataset)
    else:
        urls = [ctx.ports.storage.url("silver", ctx.result(TransformResult).silver_path)]
    objects = [(url, _schema(ctx.engine, url)) for url in urls]
    table = TableRef("silver", run_.dataset)
    key = ctx.dataset.primary_key
    return {str(table): destination.load_objects(table, objects, mode, key, run_.run_id)}


def _gold(ctx: RunContext, destination: Destination) -> dict[str, int]:
    pipeline, storage = ctx.pipeline, ctx.ports.storage
    head = ctx.ports.runlog.heads(pipeline.name).get("gold")
    tables: dict[str, int] = {}
    if head is None:  # no models, or none built yet
        return tables
    for name in models_in(pipeline, "engine"):
        model = pipeline.models[name]
        if model.load_mode == LoadMode.none:
            continue
        table = TableRef("gold", name)
        url = storage.url("gold", gold_path(name, head))
        if isinstance(destination, LoadsObjects):
            objects = [(url, _schema(ctx.engine, url))]
            tables[str(table)] = destination.load_objects(
                table, objects, model.load_mode, model.primary_key, ctx.run.run_id
            )
            continue
        with ctx.engine.scan_file(url) as data:
            tables[str(table)] = destination.load(
                table, data, model.load_mode, model.primary_key, ctx.run.run_id
            )
    return tables


def _in_destination(ctx: RunContext, destination: Destination) -> tuple[dict[str, int], list[str]]:
    """Run the models that run in the destination (ELT), after silver and the engine's gold
    are in: rows per table, and the models merged rather than rebuilt."""
    found = destination_jobs(ctx.pipeline, destination)
    if found is None:
        return {}, []
    models, jobs = found
    added = ctx.run.dataset if _adds_only(ctx, jobs) else None
    return run_models(models, jobs, ctx.run.run_id, added)


def destination_jobs(
    pipeline: Pipeline, destination: Destination
) -> tuple[SupportsModels, list[ModelJob]] | None:
    """The destination and the models that run in it, each tagged with its SQL, the
    destination's dialect and its inputs' contracts; None when no model runs there, refused
    when the destination cannot run models."""
    names = models_in(pipeline, "destination")
    if not names:
        return None
    if not isinstance(destination, SupportsModels):
        raise TerminalError(
            f"the destination cannot run models ({', '.join(names)})",
            fix="Set run_in: engine for them in pipeline.yaml.",
        )
    jobs = []
    for name in names:
        model = pipeline.models[name]
        tag = model_tag(f"{model.sql}\n{destination.dialect}", input_contracts(pipeline, name))
        jobs.append(ModelJob(name, model.sql, model.load_mode, tuple(model.primary_key), tag))
    return destination, jobs


def _adds_only(ctx: RunContext, jobs: list[ModelJob]) -> bool:
    """Whether this run only adds rows to its dataset's silver (no replay, no key another live
    run holds), when some destination model could merge them (decision 0009's test)."""
    run_, key = ctx.run, ctx.dataset.primary_key
    plans = [decomposable(job.sql) for job in jobs]
    if run_.replaces or not any(p and p.dataset == run_.dataset for p in plans):
        return False
    if ctx.dataset.load_mode == LoadMode.none:
        return False
    transform = ctx.result(TransformResult)
    mine = ctx.ports.storage.url("silver", transform.silver_path)
    if not key:
        return True
    earlier = [u for u in live_silver(ctx.ports, run_.dataset) if u != mine]
    return not ctx.engine.keys_overlap(earlier, mine, list(key))


def _schema(engine: Engine, url: str) -> pa.Schema:
    """The columns of a Parquet object, in file order (its rows are not read)."""
    with engine.scan_file(url) as reader:
        return reader.schema
