"""Load for a batch of runs (medalist/batching.py): every run's silver rows, gold and the
destination's models in one destination transaction.

A keyed merge sends the batch's rows once, as one relation (the latest row per key across the
batch: silver files carry their `_run_id`, and the merge never lets an older run overwrite a
newer one, so a redo after a kill changes nothing). Append loads each run's rows on their own
(each first deletes its own earlier rows); replace refreshes the table once.

A keyed merge into PostgreSQL starts ahead (`BatchAhead`, decision 0057): as soon as the
batch's silver files are validated, a thread sends them in a destination transaction left
open, while Transform builds gold, publishes and commits; Load then adds gold and the
destination's models to that transaction and commits it, as it would its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack

import pyarrow as pa

from medalist.config import LoadMode
from medalist.destination import Destination, LoadsObjects, SupportsStaging, TableRef
from medalist.destination.elt import run_models
from medalist.engine import ReadsApart, SupportsApart
from medalist.incremental import INCOMING
from medalist.states import load
from medalist.states.lake import live_silver, sweep
from medalist.states.results import LoadResult, TransformResult
from medalist.workflow.context import RunContext


class BatchAhead:
    """A batch's silver rows on their way into the destination, on a thread of their own:
    one open transaction that Load finishes (`take`), or nothing if anything went wrong
    (Load then loads from silver as always). Nothing is committed here: a kill, a split or
    a failure rolls it all back with the connection."""

    def __init__(self, ctxs: list[RunContext], urls: list[str]) -> None:
        lead = ctxs[-1]
        self.runs = [c.run.run_id for c in ctxs]
        mine = set(urls)
        earlier = [u for u in live_silver(lead.ports, lead.run.dataset) if u not in mine]
        self._read = threading.Event()  # every silver file read: they may move (publish)
        self._destination: Destination | None = None
        self._thread = threading.Thread(
            target=self._send, args=(lead, urls, earlier), name="medalist-load-ahead", daemon=True
        )
        self._thread.start()

    def _send(self, lead: RunContext, urls: list[str], earlier: list[str]) -> None:
        destination = None
        try:
            destination = lead.ports.destination()
            if isinstance(destination, SupportsStaging) and isinstance(lead.engine, SupportsApart):
                reader = lead.engine.apart()
                try:
                    _send_silver(lead, destination, reader, urls, earlier, self._read)
                finally:
                    reader.close()
                self._destination, destination = destination, None
        except Exception:  # Load loads from silver, and says what fails then
            self._destination = None
        finally:
            self._read.set()
            if destination is not None:
                destination.close()

    def files_read(self) -> None:
        """Wait until the thread has read every silver file it was given (it holds their rows
        before it sends one), so that they may be published."""
        self._read.wait()

    def take(self, ctxs: list[RunContext]) -> Destination | None:
        """The destination with the batch's silver rows in its open transaction, when they
        were all sent and the batch is still the one they were read for; once."""
        self._thread.join()
        destination, self._destination = self._destination, None
        if destination is not None and [c.run.run_id for c in ctxs] != self.runs:
            destination.close()
            return None
        return destination

    def close(self) -> None:
        """Roll back what was not taken."""
        found = self.take([])
        if found is not None:
            found.close()


def load_ahead(ctxs: list[RunContext], urls: list[str]) -> BatchAhead | None:
    """A BatchAhead for the batch's staged silver files (`urls`), when its rows go to the
    destination as one keyed merge through an engine that reads apart; otherwise None."""
    lead = ctxs[-1]
    dataset = lead.dataset
    if (
        len(ctxs) < 2
        or dataset.load_mode != LoadMode.merge
        or not dataset.primary_key
        or not isinstance(lead.engine, SupportsApart)
    ):
        return None
    return BatchAhead(ctxs, urls)


def load_batch(ctxs: list[RunContext], ahead: BatchAhead | None = None) -> dict[str, LoadResult]:
    """run id -> its Load result. The tables shared by the batch (gold) count in each.
    `ahead`: the batch's silver rows already sent, in the transaction it holds."""
    lead = ctxs[-1]
    sweep(lead.ports, lead.pipeline)
    loads_models = any(m.load_mode != LoadMode.none for m in lead.pipeline.models.values())
    if lead.dataset.load_mode == LoadMode.none and not loads_models:
        return {c.run.run_id: LoadResult({}) for c in ctxs}
    sent = ahead.take(ctxs) if ahead is not None else None
    destination = sent or lead.ports.destination()
    try:
        with destination.transaction():
            silver = _credited(ctxs) if sent else _silver(ctxs, destination)
            shared = load._gold(lead, destination)
            built = _in_destination(lead, destination)
    finally:
        destination.close()
    return {c.run.run_id: LoadResult(silver.get(c.run.run_id, {}) | shared | built) for c in ctxs}


def _silver(ctxs: list[RunContext], destination: Destination) -> dict[str, dict[str, int]]:
    """run id -> {table: rows} for the batch's silver."""
    lead = ctxs[-1]
    dataset, mode = lead.dataset, lead.dataset.load_mode
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
    _merge(lead, destination, lambda: engine.scan_table(INCOMING, name), new_keys)
    return _credited(ctxs)


def _merge(
    lead: RunContext,
    destination: Destination,
    scan: Callable[[], pa.RecordBatchReader],
    new_keys: bool,
) -> None:
    """The batch's silver rows (`scan` opens them) merged by key into the destination. With
    `new_keys` (no earlier run holds one) the destination may insert them plainly, and reads
    them again (`scan`) to merge after all if a key was there."""
    with ExitStack() as readers:
        data = readers.enter_context(scan())

        def reread() -> pa.RecordBatchReader:
            data.close()  # the engine takes one open result at a time (decision 0003)
            return readers.enter_context(scan())

        destination.load(
            TableRef("silver", lead.run.dataset),
            data,
            LoadMode.merge,
            lead.dataset.primary_key,
            lead.run.run_id,
            reread=reread if new_keys else None,
        )


def _credited(ctxs: list[RunContext]) -> dict[str, dict[str, int]]:
    """Each run is credited with its silver rows (a key repeated later in the batch is sent
    once, as its latest row)."""
    table = str(TableRef("silver", ctxs[-1].run.dataset))
    return {c.run.run_id: {table: c.result(TransformResult).rows_silver} for c in ctxs}


def _send_silver(
    lead: RunContext,
    destination: Destination,
    reader: ReadsApart,
    urls: list[str],
    earlier: list[str],
    read: threading.Event,
) -> None:
    """The keyed merge of `_silver`, from the staged files, through `reader`, without
    committing; `read` is set once every file has been read."""
    key = list(lead.dataset.primary_key)
    new_keys = not reader.keys_overlap(earlier, urls, key)
    rows = reader.hold_latest(urls, key)
    read.set()
    _merge(lead, destination, lambda: reader.scan(rows), new_keys)


def _in_destination(lead: RunContext, destination: Destination) -> dict[str, int]:
    """The models that run in the destination, rebuilt (a batch has more than one run's
    rows to merge, which run_models' merge does not take)."""
    found = load.destination_jobs(lead.pipeline, destination)
    if found is None:
        return {}
    built, _merged = run_models(*found, lead.run.run_id, None)
    return built
