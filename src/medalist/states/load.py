"""Load: silver and gold into the destination database, one transaction per table."""

from __future__ import annotations

from medalist.config import LoadMode
from medalist.destination import TableRef
from medalist.gold import model_order
from medalist.states.lake import expose_silver, gold_path
from medalist.states.results import LoadResult, TransformResult
from medalist.workflow.context import RunContext


def run(ctx: RunContext) -> LoadResult:
    transform = ctx.result(TransformResult)
    storage, engine, pipeline = ctx.ports.storage, ctx.engine, ctx.pipeline
    dataset, run_id = ctx.dataset, ctx.run.run_id
    tables: dict[str, int] = {}
    destination = ctx.ports.destination()
    try:
        mode = dataset.load_mode
        if mode != LoadMode.none:
            if mode == LoadMode.replace:  # the whole dataset, not just this file
                expose_silver(engine, storage, pipeline)
                data = engine.scan_table("silver", ctx.run.dataset)
            else:
                data = engine.scan_file(storage.url("silver", transform.silver_path))
            table = TableRef("silver", ctx.run.dataset)
            # Closing the reader even when the load fails frees the engine for a retry.
            with data:
                tables[str(table)] = destination.load(
                    table, data, mode, dataset.primary_key, run_id
                )
        for name in model_order(pipeline):
            model = pipeline.models[name]
            if model.load_mode == LoadMode.none:
                continue
            table = TableRef("gold", name)
            data = engine.scan_file(storage.url("gold", gold_path(name)))
            tables[str(table)] = destination.load(
                table, data, model.load_mode, model.primary_key, run_id
            )
    finally:
        destination.close()
    return LoadResult(tables)
