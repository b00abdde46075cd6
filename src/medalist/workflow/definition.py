"""The ingestion workflow as data. The local runner executes it; the AWS exporter turns the same
definition into Amazon States Language. Nothing about the states is written twice.

    Crawl ──► Transform ──► Load ──► RecordSuccess ──► NotifySuccess ──► Succeed
      └──────────┴───────────┴── on error ──► RecordFailure ──► NotifyFailure ──► Fail
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medalist.states.results import StateResult
    from medalist.workflow.context import RunContext


@dataclass(frozen=True)
class RetryPolicy:
    """Like a Step Functions Retrier: which error kinds retry, how often, how far apart."""

    max_attempts: int = 1
    interval_s: float = 1.0
    backoff_rate: float = 2.0
    retry_on: tuple[str, ...] = ("transient",)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return self.interval_s * self.backoff_rate ** (attempt - 1)


@dataclass(frozen=True)
class TaskState:
    name: str
    task: Callable[[RunContext], StateResult]
    retry: RetryPolicy
    comment: str
    # Runs of one pipeline take turns in an exclusive state (the task and its commit), so each
    # sees what the others committed: silver for gold, gold heads for loads.
    exclusive: bool = False


@dataclass(frozen=True)
class StateTask:
    """A state's function, named by module: imported when the state first runs, so recording
    a run's outcome (the finish function on AWS) needs neither DuckDB nor Arrow (0035)."""

    module: str
    function: str = "run"

    def __call__(self, ctx: RunContext) -> StateResult:
        task: Callable[[RunContext], StateResult] = getattr(
            import_module(self.module), self.function
        )
        return task(ctx)


@dataclass(frozen=True)
class Workflow:
    name: str
    states: tuple[TaskState, ...]


INGEST = Workflow(
    name="ingest",
    states=(
        TaskState(
            "Crawl",
            StateTask("medalist.states.crawl"),
            RetryPolicy(max_attempts=2),
            "Detect format and schema, register it in the catalog, check the contract.",
        ),
        TaskState(
            "Transform",
            StateTask("medalist.states.transform"),
            RetryPolicy(max_attempts=2),
            "Validate, quarantine, dedupe, write silver; rebuild gold models.",
            exclusive=True,
        ),
        TaskState(
            "Load",
            StateTask("medalist.states.load"),
            RetryPolicy(max_attempts=4, interval_s=2.0),
            "Load silver and gold into the destination, idempotently.",
            exclusive=True,
        ),
    ),
)
