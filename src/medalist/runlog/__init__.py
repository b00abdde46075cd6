"""The RunLog port (DynamoDB in the AWS design): one record per run, updated at every transition.

Updates are conditional on `version`, so two writers can never silently overwrite each other.
The same store holds the locks that serialise a pipeline's committing states, and the heads:
which version of gold readers see. A state's completion and the heads it moves are written in
one transaction (a DynamoDB TransactWriteItems on AWS), so readers never see half an output.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field


class Status(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


Outcome = Literal["RUNNING", "SUCCEEDED", "WARN", "FAILED"]


class Transition(BaseModel):
    """One entry of a run's history."""

    state: str
    status: Status
    at: datetime
    attempt: int = 1
    detail: str | None = None


class RunRecord(BaseModel):
    """The run-log record; the same fields in SQLite and in DynamoDB."""

    run_id: str
    pipeline: str
    dataset: str
    file: str
    file_hash: str
    file_bytes: int
    status: Status = Status.RUNNING
    state: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    duration_s: float | None = None
    rows_in: int | None = None
    rows_silver: int | None = None
    rows_quarantined: int | None = None
    rows_loaded: int | None = None
    rule_counts: dict[str, int] = Field(default_factory=dict)
    error: dict[str, Any] | None = None
    history: list[Transition] = Field(default_factory=list)  # stored bounded: see bounded()
    history_dropped: int = 0  # transitions bounded() dropped from the middle of history
    outputs: dict[str, Any] = Field(default_factory=dict)  # each state's result, for resuming
    version: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    replaces: str | None = None  # a replay: the earlier run of the same file it supersedes
    file_mtime: float | None = None  # the file's mtime when it was hashed (the quick check)
    # A SUCCEEDED run that needs a look (drift, many rows quarantined): decision 0020.
    warnings: list[str] = Field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        """RUNNING, SUCCEEDED, WARN (SUCCEEDED with warnings) or FAILED."""
        if self.status == Status.SUCCEEDED and self.warnings:
            return "WARN"
        return self.status.value  # type: ignore[return-value]


HISTORY_FIRST = 10  # a stored history keeps its first transitions (how the run began) ...
HISTORY_LAST = 50  # ... and its last ones (what happens now); DynamoDB items are <= 400 KB


def bounded(run: RunRecord) -> RunRecord:
    """The record as every RunLog adapter stores it: at most HISTORY_FIRST + HISTORY_LAST
    transitions, the ones in between dropped and counted in `history_dropped`. A run retried
    385 times held 1,160 transitions; it keeps 60 and says how many it dropped."""
    extra = len(run.history) - HISTORY_FIRST - HISTORY_LAST
    if extra <= 0:
        return run
    kept = [*run.history[:HISTORY_FIRST], *run.history[-HISTORY_LAST:]]
    return run.model_copy(update={"history": kept, "history_dropped": run.history_dropped + extra})


@dataclass(frozen=True)
class Alert:
    """One message for one channel, in the outbox until delivered. `key` is its idempotency
    key (run, record version, channel): a receiver that sees it twice can drop the second."""

    key: str
    pipeline: str
    channel: str
    run_id: str
    message: dict[str, Any]
    created_at: datetime
    attempts: int = 0
    next_at: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


class ConcurrentUpdate(Exception):
    """The record changed since it was read: another process owns the run now."""


class RunLog(Protocol):
    def claim(self, run: RunRecord) -> RunRecord | None:
        """Register the run's file and create `bounded(run)` atomically; None if the file is
        claimed.
        A replay (`run.replaces` set) instead moves the file's registration from the run it
        replaces to itself, and gets None if that run no longer holds it."""

    def claimed_by(self, dataset: str, file: str, file_hash: str) -> RunRecord | None:
        """The run that claimed this exact file content, if any."""

    def last_run(self, dataset: str, file: str) -> RunRecord | None:
        """The newest run of a path in landing, whatever its content was."""

    def last_runs(self, dataset: str, files: Collection[str]) -> dict[str, RunRecord]:
        """`last_run` of each of `files` that has a run (path -> run): the quick check of a
        whole listing, in one read where the store allows it."""

    def update(
        self,
        run: RunRecord,
        heads: Mapping[str, str] | None = None,
        alerts: Sequence[Alert] = (),
    ) -> RunRecord:
        """Store `bounded(run)` if its version is current (else ConcurrentUpdate), and in
        the same transaction point each of `heads` (name -> version) of its pipeline and put
        `alerts` in the outbox."""

    def renew(self, run_id: str, owner: str, until: datetime) -> bool:
        """Extend a RUNNING run's lease if `owner` still holds it; False if it does not."""

    def heads(self, pipeline: str) -> dict[str, str]:
        """name -> version that readers of the pipeline see (e.g. "gold" -> a run id)."""

    def live_runs(self, dataset: str) -> set[str]:
        """Runs whose Transform is committed and not replaced by a committed replay: the runs
        whose silver rows readers see."""

    def replaced_runs(self, dataset: str) -> set[str]:
        """Runs that a replay names in `replaces` (committed or not)."""

    def lock(self, name: str, owner: str, until: datetime, *, replacing: str | None = None) -> bool:
        """Take or renew lock `name`: succeeds if it is free, expired, held by `owner` already,
        or held by `replacing` (a holder the caller found gone)."""

    def lock_holder(self, name: str) -> tuple[str, datetime] | None:
        """(owner, expires_at) of lock `name`, if anyone holds it."""

    def unlock(self, name: str, owner: str) -> None:
        """Release lock `name` if `owner` holds it."""

    def get(self, run_id: str) -> RunRecord:
        """One run by id or unique id prefix (NotFound names what was tried)."""

    def list(
        self, *, dataset: str | None = None, status: Status | None = None, limit: int | None = 50
    ) -> list[RunRecord]:
        """Newest runs first, optionally of one dataset or status; limit None for all."""


class Outbox(Protocol):
    """Alerts waiting for delivery (written by RunLog.update, in the same transaction as the
    run's final state)."""

    def due_alerts(self, at: datetime, limit: int = 100) -> list[Alert]:
        """Undelivered alerts whose next attempt is due, oldest first."""

    def take_alert(self, key: str, owner: str, until: datetime) -> bool:
        """Lease an alert for delivery, so two senders never send it at once."""

    def alert_sent(self, key: str, at: datetime) -> None:
        """Mark an alert delivered."""

    def alert_failed(self, key: str, error: str, next_at: datetime) -> None:
        """Record a failed attempt and when to try again."""

    def undelivered(self) -> list[Alert]:
        """Every alert not delivered yet, oldest first."""
