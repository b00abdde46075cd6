"""Load: silver and gold into the destination database, one transaction per table.

Load is an exclusive state: it first sweeps what committed runs superseded, then loads this
run's silver rows and the gold version the head names (which may be newer than this run's own,
when a later run committed in between: the destination always moves forward).
"""

from __future__ import annotations

from medalist.config import LoadMode
from medalist.destination import TableRef
from medalist.gold import model_order
from medalist.states.lake import expose_silver, gold_path, sweep
from medalist.states.results import LoadResult, TransformResult
from medalist.workflow.context import RunContext


def run(ctx: RunContext) -> LoadResult:
    transform = ctx.result(TransformResult)
    ports, engine, pipeline = ctx.ports, ctx.engine, ctx.pipeline
    dataset, run_ = ctx.dataset, ctx.run
    sweep(ports, pipeline)
    tables: dict[str, int] = {}
    destination = ports.destination()
    try:
        mode = dataset.load_mode
        if mode != LoadMode.none:
            # A replay may remove rows an earlier run loaded: refresh the table from silver.
            if mode == LoadMode.replace or run_.replaces:
                mode = LoadMode.replace
                expose_silver(engine, ports, pipeline)
                data = engine.scan_table("silver", run_.dataset)
            else:
                data = engine.scan_file(ports.storage.url("silver", transform.silver_path))
            table = TableRef("silver", run_.dataset)
            # Closing the reader even when the load fails frees the engine for a retry.
            with data:
                tables[str(table)] = destination.load(
                    table, data, mode, dataset.primary_key, run_.run_id
                )
        head = ports.runlog.heads(pipeline.name).get("gold")
        for name in model_order(pipeline):
            model = pipeline.models[name]
            if model.load_mode == LoadMode.none or head is None:
                continue
            table = TableRef("gold", name)
            with engine.scan_file(ports.storage.url("gold", gold_path(name, head))) as data:
                tables[str(table)] = destination.load(
                    table, data, model.load_mode, model.primary_key, run_.run_id
                )
    finally:
        destination.close()
    return LoadResult(tables)
