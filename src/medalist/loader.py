"""Loading pipeline.yaml: read and validate it field by field (config), then check it across
fields (contracts: rule values parsed by DuckDB, gold models by sqlglot, the destination's
models). It sits above both so that config never imports contracts: config → contracts → gold
→ config was a circle, held open only by an import inside a function."""

from __future__ import annotations

from pathlib import Path

from medalist.config import Pipeline, read_pipeline
from medalist.contracts.model import check_pipeline


def load_pipeline(path: str | Path) -> Pipeline:
    """The pipeline of a pipeline.yaml, checked whole. Raises ConfigError naming the file, the
    key and the fix."""
    pipeline = read_pipeline(path)
    check_pipeline(pipeline, str(path))
    return pipeline
