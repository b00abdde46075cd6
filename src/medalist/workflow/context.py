"""What a state sees: the pipeline, its run, and the ports (never a concrete adapter)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from medalist.catalog import Catalog
from medalist.config import DatasetSpec, Pipeline
from medalist.leases import Liveness, LocalProcesses
from medalist.notify import Notifier
from medalist.runlog import Outbox, RunLog, RunRecord
from medalist.storage import Storage

if TYPE_CHECKING:  # Arrow: not imported by the controller function (decision 0035)
    from medalist.destination import Destination
    from medalist.engine import Engine

T = TypeVar("T")


@dataclass
class Ports:
    """The adapters one pipeline runs on: local ones by default, AWS ones on AWS."""

    storage: Storage
    catalog: Catalog
    runlog: RunLog
    outbox: Outbox  # alerts waiting for delivery (the same store as the run log locally)
    notifiers: dict[str, Notifier]  # by channel name
    engine: Callable[[], Engine]
    destination: Callable[[], Destination]
    # When a lease holder counts as gone: expiry, plus the PID check for holders on this host.
    liveness: Liveness = field(default_factory=LocalProcesses)


@dataclass
class RunContext:
    pipeline: Pipeline
    run: RunRecord
    ports: Ports
    engine: Engine
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def dataset(self) -> DatasetSpec:
        return self.pipeline.datasets[self.run.dataset]

    def result(self, kind: type[T]) -> T:
        """The result of an earlier state, by its type (rebuilt from the run log if resumed)."""
        for value in self.results.values():
            if isinstance(value, kind):
                return value
        raise LookupError(f"no {kind.__name__} yet in run {self.run.run_id}")
