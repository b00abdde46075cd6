"""Crawl: detect the format and schema of the landed file, check it against the contract,
register it in the catalog (the Glue crawler's job)."""

from __future__ import annotations

from medalist.config import DatasetSpec
from medalist.engine.formats import detect_format
from medalist.errors import InputError
from medalist.states.results import CrawlResult
from medalist.workflow.context import RunContext


def match_columns(dataset: DatasetSpec, found: list[str]) -> dict[str, str | None]:
    """Contract column -> file column: exact name first, then ignoring case and spaces.
    Example: contract `order_id` matches a header `Order_ID` or ` order_id `."""
    loose = {name.strip().lower(): name for name in found}
    return {col: col if col in found else loose.get(col.lower()) for col in dataset.columns}


def run(ctx: RunContext) -> CrawlResult:
    run_, dataset = ctx.run, ctx.dataset
    where = f"landing/{run_.file}"
    fmt = detect_format(where, dataset.format, run_.dataset)
    try:
        columns = ctx.engine.describe(ctx.ports.storage.url("landing", run_.file), fmt)
    except InputError as err:
        err.path = where
        raise
    mapping = match_columns(dataset, list(columns))
    missing = [
        c
        for c, src in mapping.items()
        if src is None and (dataset.columns[c].required or c in dataset.primary_key)
    ]
    if missing:
        raise InputError(
            f"required column(s) {', '.join(missing)} missing; the file has "
            f"{', '.join(columns) or 'no columns'}",
            path=where,
            column=missing[0],
            fix=f"Fix the file's header, or mark the column optional for {run_.dataset} in "
            "pipeline.yaml.",
        )
    version = ctx.ports.catalog.register(run_.dataset, columns, run_.file, run_.run_id)
    used = {src for src in mapping.values() if src}
    return CrawlResult(
        fmt, columns, mapping, version.version, [c for c in columns if c not in used]
    )
