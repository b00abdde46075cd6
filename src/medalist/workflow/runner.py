"""The local runner: executes a Workflow the way Step Functions would.

Every transition is written to the run log before and after the state runs; a transient error
retries with backoff; anything else goes straight to the failure path (record, then notify).
A run that already holds a state's result (resumed after a crash) skips that state.

A state marked `exclusive` runs, and commits, while holding its pipeline's lock: runs of one
pipeline take turns there, so each sees everything committed before it. A state commits by
writing its result, and the heads it moves, in one run-log update.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from medalist.attention import run_warnings
from medalist.errors import MedalistError, as_medalist_error
from medalist.leases import LEASE, Heartbeat, new_owner
from medalist.metastore import now
from medalist.notify import route, run_message
from medalist.notify.outbox import deliver_due
from medalist.runlog import ConcurrentUpdate, RunRecord, Status, Transition
from medalist.runlog.timing import work_s
from medalist.states.results import StateResult, result_from_dict
from medalist.workflow.context import RunContext
from medalist.workflow.definition import TaskState, Workflow

LOCK_POLL_S = 0.1


class LeaseLost(Exception):
    """Another process took the run over (this one was presumed dead): stop touching it."""


class Runner:
    def __init__(self, workflow: Workflow, sleep: Callable[[float], None] = time.sleep) -> None:
        self.workflow = workflow
        self.sleep = sleep
        self.owner = new_owner()  # lease owner of every run and lock this runner holds
        self._locks: set[str] = set()
        self.skip_channels: set[str] = set()  # channels another executor publishes to

    def run_state(self, ctx: RunContext, name: str, *, retry: bool = True) -> StateResult:
        """Run and commit one state of a run, as one Task of a Step Functions execution does
        (the states before it are committed already). `retry=False` leaves retrying to the
        caller (the state machine's Retry). A failure is written to the run's history and
        raised; the caller records the run's outcome (`finish`)."""
        for state in self.workflow.states:
            if state.name in ctx.run.outputs:
                ctx.results[state.name] = result_from_dict(state.name, ctx.run.outputs[state.name])
        state = next(s for s in self.workflow.states if s.name == name)
        if name in ctx.results:  # committed by an earlier attempt whose answer was lost
            return ctx.results[name]
        if not retry:
            state = replace(state, retry=replace(state.retry, max_attempts=1))
        with Heartbeat(lambda: self._renew(ctx)):
            try:
                with self._exclusive(ctx, state):
                    result = self._attempt(ctx, state)
                    self._commit(ctx, state, result)
            except ConcurrentUpdate as exc:
                raise LeaseLost(str(exc)) from None
            except MedalistError as err:
                self._write(ctx, name, Status.RUNNING, detail=f"attempt failed: {err}",
                            error=err.to_dict())  # fmt: skip
                raise
        return result

    def finish(self, ctx: RunContext, status: Status, err: MedalistError | None) -> RunRecord:
        """Record a run's outcome (the state it halted in, or its last), with its alerts."""
        state = ctx.run.state or self.workflow.states[0].name
        if status == Status.SUCCEEDED:
            state = self.workflow.states[-1].name
        return self._finish(ctx, status, state, err)

    def execute(self, ctx: RunContext) -> RunRecord:
        """Run every state in order; return the final record (SUCCEEDED or FAILED).
        Raises LeaseLost if another process took the run over meanwhile."""
        with Heartbeat(lambda: self._renew(ctx)):
            try:
                return self._execute(ctx)
            except ConcurrentUpdate as exc:
                raise LeaseLost(str(exc)) from None

    def _execute(self, ctx: RunContext) -> RunRecord:
        for state in self.workflow.states:
            if state.name in ctx.run.outputs:  # committed by an earlier owner of this run
                ctx.results[state.name] = result_from_dict(state.name, ctx.run.outputs[state.name])
                continue
            try:
                with self._exclusive(ctx, state):
                    result = self._attempt(ctx, state)
                    self._commit(ctx, state, result)
            except MedalistError as err:
                return self._finish(ctx, Status.FAILED, state.name, err)
        return self._finish(ctx, Status.SUCCEEDED, self.workflow.states[-1].name, None)

    def _commit(self, ctx: RunContext, state: TaskState, result: StateResult) -> None:
        ctx.results[state.name] = result
        self._write(
            ctx,
            state.name,
            Status.SUCCEEDED,
            outputs={**ctx.run.outputs, state.name: result.to_dict()},
            heads=result.heads(),
            **result.run_fields(),
        )
        if state.exclusive:  # its commit may change what readers see: tell the catalog
            from medalist.states.lake import publish_catalog  # the engine: not for finish

            publish_catalog(ctx)

    @contextmanager
    def _exclusive(self, ctx: RunContext, state: TaskState) -> Iterator[None]:
        """Hold the pipeline's lock around an exclusive state; wait for it if need be, taking
        it over from a holder that is gone."""
        if not state.exclusive:
            yield
            return
        name, runlog, waited = f"pipeline:{ctx.pipeline.name}", ctx.ports.runlog, False
        while not runlog.lock(name, self.owner, now() + LEASE):
            holder = runlog.lock_holder(name)
            if holder and ctx.ports.liveness.gone(*holder):
                if runlog.lock(name, self.owner, now() + LEASE, replacing=holder[0]):
                    break
                continue
            if not waited:
                who = holder[0] if holder else "another run"
                self._write(ctx, state.name, Status.RUNNING, detail=f"waiting for {who}")
                waited = True
            time.sleep(LOCK_POLL_S)
        self._locks.add(name)
        try:
            yield
        finally:
            self._locks.discard(name)
            runlog.unlock(name, self.owner)

    def _renew(self, ctx: RunContext) -> bool:
        until = now() + LEASE
        for name in list(self._locks):
            ctx.ports.runlog.lock(name, self.owner, until)
        return ctx.ports.runlog.renew(ctx.run.run_id, self.owner, until)

    def _attempt(self, ctx: RunContext, state: TaskState) -> StateResult:
        attempt = 1
        self._write(ctx, state.name, Status.RUNNING, attempt=attempt)
        while True:
            try:
                return state.task(ctx)
            except Exception as exc:
                err = as_medalist_error(exc, state.name)
                if err.kind not in state.retry.retry_on or attempt >= state.retry.max_attempts:
                    raise err from exc
                delay = state.retry.delay(attempt)
                self._write(
                    ctx,
                    state.name,
                    Status.RUNNING,
                    attempt=attempt + 1,
                    detail=f"retry in {delay:g}s after: {err}",
                )
                self.sleep(delay)
                attempt += 1

    def _write(
        self,
        ctx: RunContext,
        state: str,
        step_status: Status,
        *,
        attempt: int = 1,
        detail: str | None = None,
        heads: dict[str, str] | None = None,
        **fields: Any,
    ) -> None:
        """Append a transition to the run's history and store it with `fields` (conditional on
        the record's version, so a run taken over by another process cannot be overwritten)."""
        at = now()
        step = Transition(state=state, status=step_status, at=at, attempt=attempt, detail=detail)
        ctx.run = ctx.ports.runlog.update(
            ctx.run.model_copy(
                update={
                    "state": state,
                    "history": [*ctx.run.history, step],
                    "lease_owner": self.owner,
                    "lease_expires_at": at + LEASE,
                    **fields,
                }
            ),
            heads,
        )

    def _finish(
        self, ctx: RunContext, status: Status, state: str, err: MedalistError | None
    ) -> RunRecord:
        """Record the outcome and its alerts in one run-log update (RecordSuccess/Failure and
        the outbox write of Notify*), then deliver what is due. A channel that is down keeps
        its alert in the outbox; it never changes the run's outcome."""
        ended = now()
        fields: dict[str, Any] = {
            "status": status,
            "state": state,
            "ended_at": ended,
            "lease_owner": None,
            "lease_expires_at": None,
            "duration_s": work_s(ctx.run, ended),  # not the wait for a retry
        }
        fields["error"] = None  # a failed attempt's error, retried since, is not the outcome
        if err is not None:  # the last state's SUCCEEDED step is already in the history
            fields["error"] = err.to_dict()
            step = Transition(state=state, status=status, at=ended, detail=str(err))
            fields["history"] = [*ctx.run.history, step]
            fields["warnings"] = []
        final = ctx.run.model_copy(update=fields)
        if err is None:  # WARN: a success that needs a look (decision 0020)
            warnings = run_warnings(ctx.pipeline, final, ctx.ports.catalog)
            final = final.model_copy(update={"warnings": warnings})
        alerts = route(ctx.pipeline, final, run_message(final, ctx.pipeline.dashboard_url))
        alerts = [alert for alert in alerts if alert.channel not in self.skip_channels]
        ctx.run = ctx.ports.runlog.update(final, alerts=alerts)
        deliver_due(ctx.ports.outbox, ctx.ports.notifiers)
        return ctx.run
