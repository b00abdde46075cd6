"""Load ahead: a big file's silver rows start into the destination while Transform still
writes them, so that PostgreSQL's share of the work overlaps DuckDB's (decision 0012).

The rows go to a stage only this run's Load reads; Load publishes them in its own transaction,
exactly as it would have loaded them from silver. If anything about the stage is off (the
engine rewrote silver after streaming it, the destination was down, the process died), Load
does not find a complete stage for its run and loads from the silver file as always.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pyarrow as pa

from medalist.config import LoadMode
from medalist.destination import SupportsStaging, TableRef
from medalist.engine import Validation
from medalist.errors import MedalistError
from medalist.states.lake import run_lineage
from medalist.workflow.context import RunContext

_MB = 2**20


class LoadAhead:
    """The engine's tap: stages the silver rows it is given into the destination."""

    def __init__(
        self,
        destination: SupportsStaging,
        table: TableRef,
        ctx: RunContext,
        ingested_at: datetime,
    ) -> None:
        self.destination, self.table = destination, table
        self.primary_key, self.run_id = ctx.dataset.primary_key, ctx.run.run_id
        self.constants = run_lineage(ctx.run, ingested_at.isoformat())  # as Load sends them
        self.rows: int | None = None

    def __call__(self, rows: pa.RecordBatchReader) -> None:
        self.rows = self.destination.stage(
            self.table, rows, self.primary_key, self.run_id, self.constants
        )

    def settle(self, checked: Validation) -> int | None:
        """The rows staged, when they are exactly silver's; otherwise the stage goes."""
        if checked.tapped and self.rows == checked.rows_silver:
            return self.rows
        self.discard()
        return None

    def discard(self) -> None:
        self.destination.discard_stage(self.table, self.run_id)


@contextmanager
def load_ahead(ctx: RunContext, ingested_at: datetime) -> Iterator[LoadAhead | None]:
    """A LoadAhead when this run may load ahead: a file of at least `load_ahead_mb`, loaded by
    merge or append (a replay or a replace reloads all of silver), into a destination that
    can stage. None otherwise, and when the destination cannot be reached now (Load will
    say why, with its retries)."""
    mode = ctx.dataset.load_mode
    if (
        ctx.run.replaces
        or mode not in (LoadMode.merge, LoadMode.append)
        or ctx.run.file_bytes < ctx.pipeline.load_ahead_mb * _MB
    ):
        yield None
        return
    try:
        destination = ctx.ports.destination()
    except MedalistError:
        yield None
        return
    try:
        if not isinstance(destination, SupportsStaging):
            yield None
            return
        ahead = LoadAhead(destination, TableRef("silver", ctx.run.dataset), ctx, ingested_at)
        try:
            yield ahead
        except BaseException:
            ahead.discard()
            raise
    finally:
        destination.close()
