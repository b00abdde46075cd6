"""Transform: validate against the contract, quarantine bad rows, dedupe, write silver, then
build every gold model's new version (merged or rebuilt). Outputs are staged and published only
when all of them are ready."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache

from medalist.config import Format, LoadMode
from medalist.engine import FileSpec, Validation, ValidationJob
from medalist.errors import InputError, MedalistError, TerminalError
from medalist.gold import model_inputs, models_in
from medalist.incremental import INCOMING, decomposable, model_tag, over_incoming
from medalist.metastore import now
from medalist.runlog import Status
from medalist.states.ahead import LoadAhead, load_ahead
from medalist.states.crawl import confirm_sniff, explain_split
from medalist.states.lake import (
    STAGED_ZONES,
    expose_silver,
    gold_path,
    live_silver,
    run_file,
)
from medalist.states.results import CrawlResult, TransformResult
from medalist.workflow.context import RunContext


def run(ctx: RunContext) -> TransformResult:
    try:
        return _transform(ctx)
    except BaseException:
        _discard_staged(ctx)  # a failed attempt leaves nothing behind, not even staged files
        raise


def _transform(ctx: RunContext) -> TransformResult:
    run_, storage, engine = ctx.run, ctx.ports.storage, ctx.engine
    token = run_.run_id
    silver = quarantine = run_file(run_.dataset, run_.run_id)
    if any(c.unique or c.references for c in ctx.dataset.columns.values()):
        expose_silver(engine, ctx.ports, ctx.pipeline, replaced=run_.replaces)  # rules read it
    ingested_at = now()
    with load_ahead(ctx, ingested_at) as ahead:
        job, checked = _validate(ctx, silver, ingested_at, ahead)
        staged_rows = ahead.settle(checked) if ahead else None
    adds_only = _adds_only(ctx, job.silver_url)
    gold_rows, gold_merged = build_gold(ctx, {run_.dataset: job.silver_url}, adds_only)
    # A hint for Load: rows whose keys silver lacks are most likely new to the destination too.
    keyed_merge = bool(ctx.dataset.primary_key) and ctx.dataset.load_mode == LoadMode.merge
    new_keys = keyed_merge and staged_rows is None and adds_only()

    # Published files are invisible until the run log commits this state (see states/lake.py).
    storage.publish("silver", silver, token)
    if checked.rows_quarantined:
        storage.publish("quarantine", quarantine, token)
    else:
        storage.unstage("quarantine", quarantine, token)
    for model in gold_rows:
        storage.publish("gold", gold_path(model, token), token)
    return transform_result(
        job, checked, silver, gold_rows, gold_merged, token, staged_rows=staged_rows,
        new_keys=new_keys,
    )  # fmt: skip


def transform_result(
    job: ValidationJob,
    checked: Validation,
    path: str,
    gold_rows: dict[str, int],
    gold_merged: list[str],
    gold_version: str,
    *,
    staged_rows: int | None = None,
    new_keys: bool = False,
) -> TransformResult:
    """A run's Transform result: its file's validation (silver and quarantine at `path`) and
    the gold version built with it (`gold_version`, when a model was built)."""
    return TransformResult(
        rows_in=checked.rows_in,
        rows_silver=checked.rows_silver,
        rows_quarantined=checked.rows_quarantined,
        rows_duplicate=checked.rows_duplicate,
        rule_counts=checked.rule_counts,
        silver_path=path,
        quarantine_path=path if checked.rows_quarantined else None,
        gold_rows=gold_rows,
        gold_version=gold_version if gold_rows else None,
        ingested_at=job.ingested_at.isoformat(),
        gold_merged=gold_merged,
        staged_rows=staged_rows,
        new_keys=new_keys,
    )


def _validate(
    ctx: RunContext, path: str, ingested_at: datetime, tap: LoadAhead | None
) -> tuple[ValidationJob, Validation]:
    """Validate the landed file into staged silver and quarantine files at `path` in their
    zones (silver's rows also to `tap`, as they are written); the file must not change while
    it is read."""
    before = _landed_state(ctx)
    job = _job(ctx, path, ingested_at, tap)
    try:
        if job.alone_check:
            job.alone_check()
        checked = ctx.engine.validate(job)
        _unchanged(ctx, before)
    except MedalistError as err:
        if isinstance(err, InputError):
            explain_split(ctx, job.file, err)
        err.path = f"landing/{ctx.run.file}"
        raise
    return job, checked


def validate_many(
    ctxs: Sequence[RunContext], ingested_at: datetime
) -> list[tuple[ValidationJob, Validation] | MedalistError]:
    """`_validate` for the runs of a batch, in one engine pass for the files delivered alike
    (engine.validate_many): each file into its own staged silver and quarantine file at its
    run's path; a file that fails as a whole has its error in its place."""
    groups: dict[str, list[int]] = {}
    for i, ctx in enumerate(ctxs):
        crawl = ctx.result(CrawlResult)
        alike = repr(
            (crawl.format, crawl.delimiter, tuple(crawl.columns), crawl.mapping, crawl.extras)
        )
        if crawl.format in (Format.csv, Format.tsv) and crawl.quotes_paired is not True:
            alike = ctx.run.run_id  # alone: a quote left open loses its line in one pass
        groups.setdefault(alike, []).append(i)
    results: list[tuple[ValidationJob, Validation] | MedalistError | None] = [None] * len(ctxs)
    for places in groups.values():
        befores = [_landed_state(ctxs[i]) for i in places]
        jobs = [_job(ctxs[i], run_file(ctxs[i].run.dataset, ctxs[i].run.run_id), ingested_at)
                for i in places]  # fmt: skip
        checked = ctxs[places[0]].engine.validate_many(jobs)
        for i, before, job, found in zip(places, befores, jobs, checked, strict=True):
            try:
                if isinstance(found, InputError):
                    explain_split(ctxs[i], job.file, found)
                if isinstance(found, MedalistError):
                    raise found
                _unchanged(ctxs[i], before)
                results[i] = (job, found)
            except MedalistError as err:
                err.path = f"landing/{ctxs[i].run.file}"
                results[i] = err
    return [r for r in results if r is not None]


def _job(
    ctx: RunContext, path: str, ingested_at: datetime, tap: LoadAhead | None = None
) -> ValidationJob:
    """What the engine needs to validate the run's landed file into staged silver and
    quarantine files at `path`."""
    run_, storage = ctx.run, ctx.ports.storage
    crawl = ctx.result(CrawlResult)
    token = run_.run_id
    file = FileSpec(
        storage.url("landing", run_.file),
        crawl.format,
        ctx.dataset.csv,
        crawl.delimiter,
        frozenset(ctx.dataset.columns),
        run_.file_bytes,
    )
    return ValidationJob(
        file=file,
        dataset_name=run_.dataset,
        dataset=ctx.dataset,
        mapping=crawl.mapping,
        extras=crawl.extras,
        run_id=run_.run_id,
        source_file=run_.file,
        ingested_at=ingested_at,
        silver_url=storage.staging_url("silver", path, token),
        quarantine_url=storage.staging_url("quarantine", path, token),
        tap=tap,
        # Crawl took another file's sniff for it: sniffed before it is validated alone (0046)
        alone_check=(lambda: confirm_sniff(ctx, file)) if crawl.sniffed_with else None,
    )


def _unchanged(ctx: RunContext, before: tuple[int, float] | None) -> None:
    """InputError when the landed file is not the one claimed, or changed while it was read."""
    if before is None or before[0] != ctx.run.file_bytes or _landed_state(ctx) != before:
        raise InputError(
            "changed while it was being read",
            fix="Nothing was kept from it; its new content is a new file for the next "
            "`medalist run`.",
        )


def build_gold(
    ctx: RunContext, staged_silver: Mapping[str, str | list[str]], adds_only: Callable[[], bool]
) -> tuple[dict[str, int], list[str]]:
    """Build every model's new version, inputs first, into staged Parquet files; return rows
    per model and the models merged. A model that decomposes merges this run's rows into its
    previous version when the run only adds rows (medalist/incremental.py); the others are
    rebuilt from all of silver. Transform is an exclusive state, so the silver seen here holds
    every committed run."""
    storage, engine, pipeline = ctx.ports.storage, ctx.engine, ctx.pipeline
    expose_silver(engine, ctx.ports, pipeline, staged_silver, ctx.run.replaces)
    merging = _merging(ctx, staged_silver, adds_only)
    rows: dict[str, int] = {}
    merged: list[str] = []
    for name in models_in(pipeline, "engine"):  # the others run in the destination, in Load
        model = pipeline.models[name]
        out = storage.staging_url("gold", gold_path(name, ctx.run.run_id), ctx.run.run_id)
        tag = model_tag(model.sql, _contracts(ctx, model_inputs(name, model.sql)))
        try:
            built = merging(model.sql, name, tag, out) if merging else None
            if built is None:
                rows[name] = engine.materialize(model.sql, out, tag=tag)
            else:
                rows[name] = built
                merged.append(name)
        except Exception as exc:
            raise TerminalError(
                f"gold model {name} failed: {exc}", fix=f"Fix models.{name}.sql in pipeline.yaml."
            ) from exc
        engine.expose("gold", name, [out], {}, [])
    return rows, merged


def _merging(
    ctx: RunContext, staged_silver: Mapping[str, str | list[str]], adds_only: Callable[[], bool]
) -> Callable[[str, str, str, str], int | None] | None:
    """How to merge a model into its previous version for this run (its rows, or None when
    that model must be rebuilt), or None when this run
    must rebuild every model: it is a replay, gold has no version yet, or its rows change keys
    silver already holds."""
    storage, engine, run_ = ctx.ports.storage, ctx.engine, ctx.run
    head = ctx.ports.runlog.heads(ctx.pipeline.name).get("gold")
    staged = staged_silver.get(run_.dataset)
    if head is None or run_.replaces or staged is None:
        return None
    plans = {
        name: decomposable(ctx.pipeline.models[name].sql)
        for name in models_in(ctx.pipeline, "engine")
    }
    if not any(plan and plan.dataset == run_.dataset for plan in plans.values()):
        return None  # nothing could merge: spare the look at silver's keys
    if not adds_only():
        return None  # corrections: latest-wins may remove earlier rows from any group
    engine.expose(INCOMING, run_.dataset, [staged] if isinstance(staged, str) else staged, {}, [])

    def merge(sql: str, name: str, tag: str, out: str) -> int | None:
        plan = plans[name]
        previous = gold_path(name, head)
        if plan is None or plan.dataset != run_.dataset or not storage.stat("gold", previous):
            return None
        url = storage.url("gold", previous)
        if engine.tag(url) != tag:
            return None  # built from another SQL or contract: rebuild
        return engine.merge_gold(plan, url, over_incoming(sql, run_.dataset), out, tag)

    return merge


def _adds_only(ctx: RunContext, staged: str) -> Callable[[], bool]:
    """Whether this run only adds rows to silver: no replay, and none of its keys is in silver
    already (the usual daily file). Asked lazily, answered once: it reads silver's keys."""

    @cache
    def answer() -> bool:
        key = ctx.dataset.primary_key
        if ctx.run.replaces:
            return False
        earlier = live_silver(ctx.ports, ctx.run.dataset)
        return not (key and ctx.engine.keys_overlap(earlier, staged, key))

    return answer


def _contracts(ctx: RunContext, inputs: set[tuple[str, str]]) -> str:
    """The contracts of the datasets a model reads, as text (part of its tag)."""
    datasets = ctx.pipeline.datasets
    return "\n".join(
        datasets[t].model_dump_json() for s, t in sorted(inputs) if s == "silver" and t in datasets
    )


def _landed_state(ctx: RunContext) -> tuple[int, float] | None:
    """Size and mtime of the landed file (None when it is gone). The size must still be the
    one claimed, and neither may change while the file is read."""
    found = ctx.ports.storage.stat("landing", ctx.run.file)
    return (found.size, found.mtime) if found else None


def _discard_staged(ctx: RunContext) -> None:
    others = {r.run_id for r in ctx.ports.runlog.list(status=Status.RUNNING, limit=None)}
    others.discard(ctx.run.run_id)
    for zone in STAGED_ZONES:
        ctx.ports.storage.discard_staged(zone, keep=others)
