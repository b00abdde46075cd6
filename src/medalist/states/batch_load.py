"""Load for a batch of runs (medalist/batching.py): every run's silver rows, gold and the
destination's models in one destination transaction.

A keyed merge sends the batch's rows once, as one relation (the latest row per key across the
batch: silver files carry their `_run_id`, and the merge never lets an older run overwrite a
newer one, so a redo after a kill changes nothing). Append loads each run's rows on their own
(each first deletes its own earlier rows); replace refreshes the table once.
"""

from __future__ import annotations

from contextlib import ExitStack

import pyarrow as pa

from medalist.config import LoadMode
from medalist.destination import Destination, LoadsObjects, TableRef
from medalist.destination.elt import run_models
from medalist.incremental import INCOMING
from medalist.states import load
from medalist.states.lake import live_silver, sweep
from medalist.states.results import LoadResult, TransformResult
from medalist.workflow.context import RunContext


def load_batch(ctxs: list[RunContext]) -> dict[str, LoadResult]:
    """run id -> its Load result. The tables shared by the batch (gold) count in each."""
    lead = ctxs[-1]
    sweep(lead.ports, lead.pipeline)
    loads_models = any(m.load_mode != LoadMode.none for m in lead.pipeline.models.values())
    if lead.dataset.load_mode == LoadMode.none and not loads_models:
        return {c.run.run_id: LoadResult({}) for c in ctxs}
    destination = lead.ports.destination()
    try:
        with destination.transaction():
            silver = _silver(ctxs, destination)
            shared = load._gold(lead, destination)
            built = _in_destination(lead, destination)
    finally:
        destination.close()
    return {c.run.run_id: LoadResult(silver.get(c.run.run_id, {}) | shared | built) for c in ctxs}


def _silver(ctxs: list[RunContext], destination: Destination) -> dict[str, dict[str, int]]:
    """run id -> {table: rows} for the batch's silver."""
    lead = ctxs[-1]
    dataset, mode = lead.dataset, lead.dataset.load_mode
    table = str(TableRef("silver", lead.run.dataset))
    if mode == LoadMode.none:
        return {}
    keyed_merge = mode == LoadMode.merge and bool(dataset.primary_key)
    if mode == LoadMode.replace or not keyed_merge or isinstance(destination, LoadsObjects):
        if mode == LoadMode.replace:  # the whole table from silver, once
            return {lead.run.run_id: load._silver(lead, destination)}
        return {c.run.run_id: load._silver(c, destination) for c in ctxs}
    storage, engine, name = lead.ports.storage, lead.engine, lead.run.dataset
    urls = [storage.url("silver", c.result(TransformResult).silver_path) for c in ctxs]
    engine.expose(INCOMING, name, urls, {}, list(dataset.primary_key))
    # Keys no earlier run holds (a burst of new orders): the destination may insert the rows
    # plainly rather than stage and merge them (200k rows into 800k: the merge was most of a
    # batch's Load), and merges after all if a key was there.
    mine = set(urls)
    earlier = [u for u in live_silver(lead.ports, name) if u not in mine]
    new_keys = not engine.keys_overlap(earlier, urls, list(dataset.primary_key))
    with ExitStack() as readers:
        data = readers.enter_context(engine.scan_table(INCOMING, name))

        def reread() -> pa.RecordBatchReader:
            data.close()  # the engine takes one open result at a time (decision 0003)
            return readers.enter_context(engine.scan_table(INCOMING, name))

        destination.load(
            TableRef("silver", name),
            data,
            LoadMode.merge,
            dataset.primary_key,
            lead.run.run_id,
            reread=reread if new_keys else None,
        )
    # Each run is credited with its silver rows (a key repeated later in the batch is sent
    # once, as its latest row).
    return {c.run.run_id: {table: c.result(TransformResult).rows_silver} for c in ctxs}


def _in_destination(lead: RunContext, destination: Destination) -> dict[str, int]:
    """The models that run in the destination, rebuilt (a batch has more than one run's
    rows to merge, which run_models' merge does not take)."""
    found = load.destination_jobs(lead.pipeline, destination)
    if found is None:
        return {}
    built, _merged = run_models(*found, lead.run.run_id, None)
    return built
