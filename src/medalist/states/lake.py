"""The zones as the engine sees them: silver.<dataset> and gold.<model> views."""

from __future__ import annotations

from medalist.config import Pipeline
from medalist.engine import Engine
from medalist.storage import Storage

LINEAGE_TYPES = {
    "_run_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_ingested_at": "TIMESTAMPTZ",
    "_source_row": "BIGINT",
}


def run_file(dataset: str, run_id: str) -> str:
    """A run's file in silver/ and quarantine/: <dataset>/<run_id>.parquet."""
    return f"{dataset}/{run_id}.parquet"


def gold_path(model: str) -> str:
    return f"{model}/{model}.parquet"


def expose_silver(
    engine: Engine,
    storage: Storage,
    pipeline: Pipeline,
    staged: dict[str, tuple[str, str]] | None = None,
) -> None:
    """silver.<dataset> for every dataset: its published files plus, for the run in progress,
    its staged file (so gold can be built before anything is published).

    `staged` maps a dataset to (path the file will be published at, its staged url)."""
    staged = staged or {}
    for name, spec in pipeline.datasets.items():
        pending_path, pending_url = staged.get(name, (None, None))
        urls = [
            storage.url("silver", f.path)
            for f in storage.find("silver", f"{name}/*.parquet")
            if f.path != pending_path
        ]
        if pending_url:
            urls.append(pending_url)
        columns = {c: col.column_type.sql for c, col in spec.columns.items()} | LINEAGE_TYPES
        engine.expose("silver", name, urls, columns, spec.primary_key)
