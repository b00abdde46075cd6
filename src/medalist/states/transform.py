"""Transform: validate against the contract, quarantine bad rows, dedupe, write silver, then
rebuild every gold model. Outputs are staged and published only when all of them are ready."""

from __future__ import annotations

from medalist.engine import FileSpec, ValidationJob
from medalist.errors import InputError, MedalistError, TerminalError
from medalist.gold import model_order
from medalist.metastore import now
from medalist.runlog import Status
from medalist.states.lake import STAGED_ZONES, expose_silver, gold_path, run_file
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
    crawl = ctx.result(CrawlResult)
    token = run_.run_id
    silver = quarantine = run_file(run_.dataset, run_.run_id)
    if any(c.unique or c.references for c in ctx.dataset.columns.values()):
        expose_silver(engine, ctx.ports, ctx.pipeline, replaced=run_.replaces)  # rules read it
    before = _landed_state(ctx)
    job = ValidationJob(
        file=FileSpec(
            storage.url("landing", run_.file),
            crawl.format,
            ctx.dataset.csv,
            crawl.delimiter,
            frozenset(ctx.dataset.columns),
        ),
        dataset_name=run_.dataset,
        dataset=ctx.dataset,
        mapping=crawl.mapping,
        extras=crawl.extras,
        run_id=run_.run_id,
        source_file=run_.file,
        ingested_at=now(),
        silver_url=storage.staging_url("silver", silver, token),
        quarantine_url=storage.staging_url("quarantine", quarantine, token),
    )
    try:
        checked = engine.validate(job)
        if before is None or before[0] != run_.file_bytes or _landed_state(ctx) != before:
            raise InputError(
                "changed while it was being read",
                fix="Nothing was kept from it; its new content is a new file for the next "
                "`medalist run`.",
            )
    except MedalistError as err:
        err.path = f"landing/{run_.file}"
        raise
    gold_rows = build_gold(ctx, {run_.dataset: job.silver_url})

    # Published files are invisible until the run log commits this state (see states/lake.py).
    storage.publish("silver", silver, token)
    if checked.rows_quarantined:
        storage.publish("quarantine", quarantine, token)
    else:
        storage.unstage("quarantine", quarantine, token)
    for model in gold_rows:
        storage.publish("gold", gold_path(model, token), token)
    return TransformResult(
        rows_in=checked.rows_in,
        rows_silver=checked.rows_silver,
        rows_quarantined=checked.rows_quarantined,
        rows_duplicate=checked.rows_duplicate,
        rule_counts=checked.rule_counts,
        silver_path=silver,
        quarantine_path=quarantine if checked.rows_quarantined else None,
        gold_rows=gold_rows,
        gold_version=token if gold_rows else None,
        ingested_at=job.ingested_at.isoformat(),
    )


def build_gold(ctx: RunContext, staged_silver: dict[str, str]) -> dict[str, int]:
    """Rebuild every model, inputs first, into staged Parquet files; return rows per model.
    Transform is an exclusive state, so the silver seen here holds every committed run."""
    storage, engine, pipeline = ctx.ports.storage, ctx.engine, ctx.pipeline
    expose_silver(engine, ctx.ports, pipeline, staged_silver, ctx.run.replaces)
    rows: dict[str, int] = {}
    for name in model_order(pipeline):
        out = storage.staging_url("gold", gold_path(name, ctx.run.run_id), ctx.run.run_id)
        try:
            rows[name] = engine.materialize(pipeline.models[name].sql, out)
        except Exception as exc:
            raise TerminalError(
                f"gold model {name} failed: {exc}", fix=f"Fix models.{name}.sql in pipeline.yaml."
            ) from exc
        engine.expose("gold", name, [out], {}, [])
    return rows


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
