"""Which reader a landed file needs, from its extension when pipeline.yaml does not say."""

from __future__ import annotations

from pathlib import PurePosixPath

from medalist.config import Format
from medalist.errors import InputError

_BY_SUFFIX = {
    ".csv": Format.csv,
    ".tsv": Format.tsv,
    ".tab": Format.tsv,
    ".jsonl": Format.jsonl,
    ".ndjson": Format.jsonl,
    ".json": Format.json,
    ".parquet": Format.parquet,
    ".pq": Format.parquet,
}


def detect_format(path: str, declared: Format | None, dataset: str) -> Format:
    """The declared format, else the one the extension names (ignoring a trailing .gz)."""
    if declared is not None:
        return declared
    suffixes = [s.lower() for s in PurePosixPath(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in _BY_SUFFIX:
        return _BY_SUFFIX[suffixes[-1]]
    raise InputError(
        "cannot tell the file's format from its name",
        path=path,
        fix=f"Rename it (.csv, .tsv, .jsonl, .json, .parquet, optionally .gz) or set "
        f"`format:` for dataset {dataset} in pipeline.yaml.",
    )
