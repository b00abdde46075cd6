"""Which fresh runs may share a batch, and how many (decisions 0028, 0043). Light on purpose:
the deployed controller function groups claimed runs with it without the engine (0035)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from medalist.config import Pipeline
from medalist.notify import channels
from medalist.runlog import Alert, RunRecord
from medalist.workflow.context import Ports

MB = 1024 * 1024


@runtime_checkable
class SupportsBatchCommit(Protocol):
    """A run log that commits several runs in one transaction."""

    def update_many(
        self,
        runs: Sequence[RunRecord],
        heads: Mapping[str, str] | None = None,
        alerts: Sequence[Alert] = (),
    ) -> list[RunRecord]: ...

    def batch_capacity(self, alerts_per_run: int) -> int:
        """How many runs one `update_many` can commit, each queueing that many alerts."""
        ...


def batchable(pipeline: Pipeline, ports: Ports, dataset: str, size: int) -> bool:
    """Whether a fresh run of `dataset` on a file of `size` bytes may join a batch: batching
    is on, the run log commits batches, the file is small (below `batch.max_mb` and below
    `load_ahead_mb`: a file big enough to load ahead runs alone), and no rule of the dataset reads
    silver (unique, references: each file must see the ones before it committed)."""
    limits, spec = pipeline.batch, pipeline.datasets[dataset]
    return (
        limits.max_files > 1
        and size < limits.max_mb * MB
        and size < pipeline.load_ahead_mb * MB  # a file that loads ahead runs alone
        and isinstance(ports.runlog, SupportsBatchCommit)
        and not any(c.unique or c.references for c in spec.columns.values())
    )


class Pending:
    """Fresh runs of one dataset waiting to run together, up to the configured bounds and what
    the run log commits in one transaction (DynamoDB: 100 writes)."""

    def __init__(self, pipeline: Pipeline, ports: Ports) -> None:
        self.limits = pipeline.batch
        self.max_files = self.limits.max_files
        if isinstance(ports.runlog, SupportsBatchCommit):
            capacity = ports.runlog.batch_capacity(len(channels(pipeline)))
            self.max_files = min(self.max_files, capacity)
        self.runs: list[RunRecord] = []

    def fits(self, run: RunRecord) -> bool:
        """Whether `run` may join without passing a bound (or a change of dataset)."""
        if not self.runs:
            return True
        size = sum(r.file_bytes for r in self.runs) + run.file_bytes
        return (
            run.dataset == self.runs[0].dataset
            and len(self.runs) < self.max_files
            and size <= self.limits.max_mb * MB
        )

    def take(self) -> list[RunRecord]:
        runs, self.runs = self.runs, []
        return runs
