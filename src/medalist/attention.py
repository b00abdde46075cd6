"""What needs a person (decision 0020): FAILED runs waiting for `retry`, SUCCEEDED runs with
warnings (WARN), datasets with no successful file for too long, and landed files no dataset
reads. `run` prints it at its end, `serve` logs it, alerts carry a run's warnings; the
dashboard can show the same list.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from medalist.catalog import Catalog
from medalist.config import Pipeline
from medalist.metastore import now
from medalist.runlog import RunLog, RunRecord, Status
from medalist.storage import Storage


@dataclass(frozen=True)
class Unmatched:
    """A file in landing that no dataset's `source` matches, and what it nearly matches."""

    path: str
    hint: str


@dataclass(frozen=True)
class Stale:
    """A dataset with no successful file for longer than `freshness_hours` (or ever)."""

    dataset: str
    last_success: datetime | None
    hours: float | None  # since the last success


@dataclass
class Attention:
    failed: list[RunRecord] = field(default_factory=list)  # latest run of their file, FAILED
    stale: list[Stale] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.failed or self.stale or self.unmatched)


def needs_attention(
    pipeline: Pipeline,
    runlog: RunLog,
    storage: Storage,
    unmatched: list[Unmatched] | None = None,
) -> Attention:
    """Everything that waits for a person now (`unmatched`: when the caller listed it)."""
    return Attention(
        failed=waiting_for_retry(runlog),
        stale=stale_datasets(pipeline, runlog),
        unmatched=unmatched_files(pipeline, storage) if unmatched is None else unmatched,
    )


def waiting_for_retry(runlog: RunLog) -> list[RunRecord]:
    """FAILED runs no later run of the same path has superseded, newest first."""
    waiting = []
    for run in runlog.list(status=Status.FAILED, limit=None):
        last = runlog.last_run(run.dataset, run.file)
        if last is None or last.run_id == run.run_id:
            waiting.append(run)
    return waiting


def stale_datasets(pipeline: Pipeline, runlog: RunLog, at: datetime | None = None) -> list[Stale]:
    """Datasets whose newest SUCCEEDED run ended more than `freshness_hours` ago, or never."""
    at = at or now()
    stale = []
    for name in pipeline.datasets:
        # a compaction (decision 0029) brings no new data
        done = [
            r
            for r in runlog.list(dataset=name, status=Status.SUCCEEDED, limit=3)
            if not r.file.startswith("_compaction/")
        ] or [
            r
            for r in runlog.list(dataset=name, status=Status.SUCCEEDED, limit=None)
            if not r.file.startswith("_compaction/")
        ]
        if not done:
            stale.append(Stale(name, None, None))
            continue
        last = done[0].ended_at or done[0].started_at
        hours = (at - last).total_seconds() / 3600
        if hours > pipeline.freshness_hours:
            stale.append(Stale(name, last, round(hours, 1)))
    return stale


def unmatched_files(
    pipeline: Pipeline, storage: Storage, matched: set[str] | None = None
) -> list[Unmatched]:
    """Files in landing no dataset reads and `attention.ignore_in_landing` does not name
    (`matched`: the paths the datasets' sources match, when the caller listed them already).
    Example: `ORDERS.CSV` at the root of landing, against `orders/*.csv`."""
    if matched is None:
        matched = {
            f.path
            for spec in pipeline.datasets.values()
            for f in storage.find("landing", spec.source)
        }
    ignored = pipeline.attention.ignore_in_landing
    return [
        Unmatched(f.path, _nearly(pipeline, f.path))
        for f in storage.find("landing", "**/*")
        if f.path not in matched and not any(fnmatch.fnmatchcase(f.path, g) for g in ignored)
    ]


def _nearly(pipeline: Pipeline, path: str) -> str:
    """Why a path matches no source, in the terms of the source it comes closest to."""
    name = PurePosixPath(path).name
    for dataset, spec in pipeline.datasets.items():
        if fnmatch.fnmatchcase(path.lower(), spec.source.lower()):
            return f"dataset {dataset} reads {spec.source}, which matches it but for letter case"
    for dataset, spec in pipeline.datasets.items():
        wanted = PurePosixPath(spec.source)
        if fnmatch.fnmatchcase(name.lower(), wanted.name.lower()):
            where = f": move it to landing/{wanted.parent}/" if str(wanted.parent) != "." else ""
            return f"dataset {dataset} reads {spec.source}{where}"
    sources = ", ".join(f"{d} reads {s.source}" for d, s in pipeline.datasets.items())
    return f"no dataset reads it ({sources})"


def run_warnings(pipeline: Pipeline, run: RunRecord, catalog: Catalog) -> list[str]:
    """Why a SUCCEEDED run needs a look: its file brought a new schema version that differs
    from the contract (drift), or it quarantined more than the configured share of rows."""
    rules, warnings = pipeline.attention, []
    crawl = run.outputs.get("Crawl", {})
    if rules.warn_on_drift and crawl.get("drift") and _new_schema(run, catalog, crawl):
        warnings.append(f"schema drift: {crawl['drift']}")
    rows_in, quarantined = run.rows_in or 0, run.rows_quarantined or 0
    limit = rules.warn_quarantined_share
    if limit is not None and rows_in and quarantined / rows_in > limit:
        warnings.append(
            f"{quarantined / rows_in:.0%} of rows quarantined ({quarantined:,} of {rows_in:,}), "
            f"above attention.warn_quarantined_share {limit:g}"
        )
    return warnings


def _new_schema(run: RunRecord, catalog: Catalog, crawl: dict[str, object]) -> bool:
    """Whether this run's file brought its schema version (drift seen before is no news)."""
    version = crawl.get("schema_version")
    for seen in catalog.versions(run.dataset):
        if seen.version == version:
            return seen.file == run.file
    return True
