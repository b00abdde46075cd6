"""Bursts of small files: many files of one dataset through one run's work (decision 0028).

Every file keeps its own run record, its own silver and quarantine file
(`silver/<dataset>/<run_id>.parquet`, `_source_file` on its rows) and its own outcome. What the
files of a batch share is the fixed cost: one engine, one Crawl commit, one gold build, one
destination transaction, and one run-log transaction per state for all of them.

Commit protocol (decision 0004) per batch: a state's results of every run in the batch, and the
heads it moves, are one run-log transaction (`update_many`). A kill before it leaves every run
RUNNING with the state uncommitted: the next trigger takes each run over alone and redoes the
state from its inputs, exactly as for a single run. A file that fails in Crawl or in validation
fails alone (its run is FAILED, the others go on); a failure of the shared work (a gold model,
the load) splits the batch: each run goes on alone through the ordinary runner, from the state
it has committed, so one bad file cannot hold the others back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from medalist.attention import run_warnings
from medalist.batch_bounds import SupportsBatchCommit
from medalist.config import Pipeline
from medalist.errors import MedalistError, as_medalist_error
from medalist.leases import LEASE, Heartbeat
from medalist.metastore import now
from medalist.notify import route, run_message
from medalist.notify.outbox import deliver_due
from medalist.runlog import Alert, ConcurrentUpdate, RunRecord, Status, Transition
from medalist.runlog.timing import work_s
from medalist.states import crawl, transform
from medalist.states.batch_load import BatchAhead, load_ahead, load_batch
from medalist.states.lake import STAGED_ZONES, publish_catalog, run_file
from medalist.states.results import StateResult
from medalist.storage import publish_all
from medalist.workflow.context import Ports, RunContext
from medalist.workflow.definition import TaskState
from medalist.workflow.runner import LeaseLost, Runner


class Batch:
    """The runs of one batch, driven state by state; finished ones leave `self.ctxs`."""

    def __init__(self, runner: Runner, ctxs: list[RunContext]) -> None:
        self.runner, self.ctxs = runner, ctxs
        self.ports, self.pipeline = ctxs[0].ports, ctxs[0].pipeline
        self.runlog: SupportsBatchCommit = ctxs[0].ports.runlog  # type: ignore[assignment]
        self.finished: list[RunRecord] = []
        self.states = {s.name: s for s in runner.workflow.states}
        self.ahead: BatchAhead | None = None  # silver on its way to the destination (0057)

    def run(self) -> list[RunContext]:
        """Every state for every run; returns the runs left to go on alone (a split)."""
        described: crawl.Described = {}  # one sniff for the files delivered alike (0046)
        self._per_file("Crawl", lambda ctx: crawl.run(ctx, described))
        if not self.ctxs:
            return []
        # Both exclusive: the lock is held from Transform through Load, so no other run loads
        # in between and Load may finish the transaction its silver started in (0057).
        held = self.states["Transform"].exclusive and self.states["Load"].exclusive
        try:
            with self.runner._exclusive(self.ctxs[-1], self.states["Transform"]):
                split = self._transform(ahead=held)
                if split or not self.ctxs:
                    return self.ctxs
                if held:
                    split = self._load()
            if not held:
                with self.runner._exclusive(self.ctxs[-1], self.states["Load"]):
                    split = self._load()
        finally:
            self._drop_ahead()
        if split:
            return self.ctxs
        self._finish_all()
        return []

    def renew(self) -> bool:
        """The heartbeat: every run's lease, and the locks the runner holds."""
        until = now() + LEASE
        for name in list(self.runner._locks):
            self.ports.runlog.lock(name, self.runner.owner, until)
        # A run that just finished (FAILED alone) has no lease left to renew; the others do.
        renewed = [
            self.ports.runlog.renew(c.run.run_id, self.runner.owner, until) for c in list(self.ctxs)
        ]
        return any(renewed) or not renewed

    def _per_file(self, name: str, task: Callable[[RunContext], StateResult]) -> None:
        """A state whose work is per file: each run's failure is its own."""
        self._begin(name)
        done = []
        for ctx in list(self.ctxs):
            try:
                done.append((ctx, _attempt(self.states[name], ctx, task)))
            except MedalistError as err:
                self._fail(ctx, err)
        self._commit(name, done)

    def _transform(self, *, ahead: bool = False) -> bool:
        """Validate every file into its own staged silver (in one engine pass), then build
        gold once over all of them; publish, and commit every run's result and the gold head
        together. True when the shared part failed and the runs must go on alone. `ahead`:
        the batch's silver may start into the destination while gold is built."""
        self._begin("Transform")
        staged = self._validate_all()
        if not staged:
            return False
        lead = self.ctxs[-1]
        urls = [job.silver_url for _, (job, _checked) in staged]
        if ahead:
            self.ahead = load_ahead(self.ctxs, urls)
        try:
            gold_rows, merged = transform.build_gold(lead, {lead.run.dataset: urls}, lambda: False)
        except Exception:
            self._drop_ahead()
            self._discard_all()
            return True  # e.g. a model that fails on one file's rows: each goes on alone
        storage, token = self.ports.storage, lead.run.run_id
        results = []
        silver, quarantine = [], []
        for ctx, (job, checked) in staged:
            path = run_file(ctx.run.dataset, ctx.run.run_id)
            silver.append((path, ctx.run.run_id))
            if checked.rows_quarantined:
                quarantine.append((path, ctx.run.run_id))
            else:
                storage.unstage("quarantine", path, ctx.run.run_id)
            result = transform.transform_result(job, checked, path, gold_rows, merged, token)
            results.append((ctx, result))
        if self.ahead is not None:
            self.ahead.files_read()  # it reads the staged files, which publishing moves
        publish_all(storage, "silver", silver)
        publish_all(storage, "quarantine", quarantine)
        for model in gold_rows:
            storage.publish("gold", transform.gold_path(model, token), token)
        self._commit("Transform", results, heads={"gold": token} if gold_rows else None)
        publish_catalog(lead)
        return False

    def _validate_all(self) -> list[tuple[RunContext, Any]]:
        """(run, (its job, its validation)) for every file that validates; the others fail
        alone. One engine pass for the files delivered alike; when that pass fails as a whole
        (not for one file's content), each file is validated alone, with its retries."""
        state = self.states["Transform"]
        try:
            checked = transform.validate_many(self.ctxs, now())
        except Exception:
            self._discard_all()
            checked = []
            for ctx in self.ctxs:
                try:
                    checked.append(
                        _attempt_validate(
                            state, ctx, run_file(ctx.run.dataset, ctx.run.run_id), now()
                        )
                    )
                except MedalistError as err:
                    checked.append(err)
        staged = []
        for ctx, found in zip(list(self.ctxs), checked, strict=True):
            if isinstance(found, MedalistError):
                transform._discard_staged(ctx)
                self._fail(ctx, found)
            else:
                staged.append((ctx, found))
        return staged

    def _load(self) -> bool:
        """One destination transaction for every run of the batch, retried like Load; True
        when it still fails (each run then retries its own Load alone)."""
        self._begin("Load")
        state = self.states["Load"]
        try:
            results = _retrying(
                state, self.ctxs[-1], lambda: load_batch(self.ctxs, self.ahead), self.runner
            )
        except MedalistError:
            return True
        self._commit("Load", [(ctx, results[ctx.run.run_id]) for ctx in self.ctxs])
        publish_catalog(self.ctxs[-1])
        return False

    def _drop_ahead(self) -> None:
        """Roll back the silver rows sent ahead that Load did not take."""
        if self.ahead is not None:
            self.ahead.close()
            self.ahead = None

    def _begin(self, name: str) -> None:
        at = now()
        step = Transition(state=name, status=Status.RUNNING, at=at)
        self._store([
            c.run.model_copy(update={"state": name, "history": [*c.run.history, step],
                                     "lease_owner": self.runner.owner,
                                     "lease_expires_at": at + LEASE})
            for c in self.ctxs
        ])  # fmt: skip

    def _commit(
        self,
        name: str,
        done: Sequence[tuple[RunContext, StateResult]],
        heads: dict[str, str] | None = None,
    ) -> None:
        if not done:
            return
        at = now()
        step = Transition(state=name, status=Status.SUCCEEDED, at=at)
        records = []
        for ctx, result in done:
            ctx.results[name] = result
            records.append(
                ctx.run.model_copy(
                    update={
                        "state": name,
                        "history": [*ctx.run.history, step],
                        "outputs": {**ctx.run.outputs, name: result.to_dict()},
                        "lease_expires_at": at + LEASE,
                        **result.run_fields(),
                    }
                )
            )
        self._store(records, heads)

    def _store(
        self,
        records: list[RunRecord],
        heads: Mapping[str, str] | None = None,
        alerts: Sequence[Alert] = (),
    ) -> None:
        stored = {r.run_id: r for r in self.runlog.update_many(records, heads, alerts)}
        for ctx in self.ctxs:
            ctx.run = stored.get(ctx.run.run_id, ctx.run)

    def _fail(self, ctx: RunContext, err: MedalistError) -> None:
        """This run alone: FAILED with its reason (and its alert); the batch goes on."""
        self.finished.append(self.runner.finish(ctx, Status.FAILED, err))
        self.ctxs.remove(ctx)

    def _discard_all(self) -> None:
        running = {r.run_id for r in self.ports.runlog.list(status=Status.RUNNING, limit=None)}
        mine = {c.run.run_id for c in self.ctxs}
        for zone in STAGED_ZONES:
            self.ports.storage.discard_staged(zone, keep=running - mine)

    def _finish_all(self) -> None:
        """Every run SUCCEEDED (or WARN), with its alerts, in one run-log transaction."""
        ended, finals, alerts = now(), [], []
        last = self.runner.workflow.states[-1].name
        for ctx in self.ctxs:
            final = ctx.run.model_copy(
                update={
                    "status": Status.SUCCEEDED,
                    "state": last,
                    "ended_at": ended,
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "duration_s": work_s(ctx.run, ended),
                    "error": None,
                }
            )
            warnings = run_warnings(self.pipeline, final, self.ports.catalog)
            final = final.model_copy(update={"warnings": warnings})
            message = run_message(final, self.pipeline.dashboard_url)
            alerts += [
                a
                for a in route(self.pipeline, final, message)
                if a.channel not in self.runner.skip_channels
            ]
            finals.append(final)
        self._store(finals, alerts=alerts)
        self.finished += [c.run for c in self.ctxs]
        self.ctxs = []
        deliver_due(self.ports.outbox, self.ports.notifiers)


def run_batch(
    pipeline: Pipeline,
    ports: Ports,
    runner: Runner,
    runs: list[RunRecord],
    on_start: Callable[[RunRecord], None] | None = None,
) -> tuple[list[RunRecord], list[RunContext], list[str]]:
    """(finished runs, runs to go on alone, files another process took over)."""
    for run in runs:
        if on_start:
            on_start(run)
    engine = ports.engine()
    batch = Batch(runner, [RunContext(pipeline, r, ports, engine) for r in runs])
    try:
        with Heartbeat(batch.renew):
            alone = batch.run()
    except (ConcurrentUpdate, LeaseLost):
        # Presumed dead and taken over: the other process finishes every run it took.
        return batch.finished, [], [c.run.file for c in batch.ctxs]
    finally:
        engine.close()
    for ctx in alone:  # fresh records: the next owner reads what is committed
        ctx.run = ports.runlog.get(ctx.run.run_id)
    return batch.finished, alone, []


def _attempt(
    state: TaskState, ctx: RunContext, task: Callable[[RunContext], StateResult]
) -> StateResult:
    return _retrying(state, ctx, lambda: task(ctx))


def _attempt_validate(state: TaskState, ctx: RunContext, path: str, ingested: Any) -> Any:
    def once() -> Any:
        try:
            return transform._validate(ctx, path, ingested, None)
        except BaseException:
            transform._discard_staged(ctx)
            raise

    return _retrying(state, ctx, once)


def _retrying(
    state: TaskState, ctx: RunContext, work: Callable[[], Any], runner: Runner | None = None
) -> Any:
    """`work` with the state's retry policy (transient errors only); MedalistError when it
    still fails."""
    attempt = 1
    while True:
        try:
            return work()
        except Exception as exc:
            err = as_medalist_error(exc, state.name)
            if err.kind not in state.retry.retry_on or attempt >= state.retry.max_attempts:
                raise err from exc
            (runner.sleep if runner else time.sleep)(state.retry.delay(attempt))
            attempt += 1
