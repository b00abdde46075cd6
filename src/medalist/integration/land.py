"""`medalist land PATH… --dataset D`: local files into landing/<dataset>/ through the Storage
port, streamed (a staged object, then published: the controller never sees half a file).

A file is identified by its content (SHA-256 locally; on S3 what the lake names it by, see
fingerprint.py): one whose content is already in landing under its name, or that a run of the
dataset already processed, is skipped and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from uuid import uuid4

from medalist.config import DatasetSpec, Format, Pipeline
from medalist.errors import ConfigError, InputError, MedalistError
from medalist.integration.fingerprint import Fingerprint, Hasher
from medalist.integration.sink import open_staged
from medalist.storage import Storage
from medalist.workflow.context import Ports

CHUNK = 1 << 20
Progress = Callable[[int], None]  # bytes sent since the last call


class Outcome(StrEnum):
    LANDED = "landed"
    SKIPPED = "skipped"  # the same content is in landing already
    REFUSED = "refused"  # --check found it would fail


@dataclass(frozen=True)
class Landed:
    """What happened to one local file."""

    source: Path
    target: str  # path inside the landing zone
    outcome: Outcome
    sha256: str
    size: int
    reason: str = ""


def would_read(source: str, path: str) -> bool:
    """Whether a dataset's `source` glob takes a path inside landing. With `**` (any depth)
    only the first folder and the file name are compared: orders/**/*.csv takes
    orders/2026/11/a.csv and orders/a.csv."""
    if "**" not in source:
        parts = PurePosixPath(path).parts
        return len(parts) == len(PurePosixPath(source).parts) and PurePosixPath(path).match(source)
    head, tail = PurePosixPath(source).parts[0], PurePosixPath(source).name
    return PurePosixPath(path).parts[0] == head and PurePosixPath(path).match(tail)


def dataset_spec(pipeline: Pipeline, dataset: str) -> DatasetSpec:
    if dataset not in pipeline.datasets:
        raise ConfigError(
            f"no dataset {dataset!r} (declared: {', '.join(pipeline.datasets)})",
            fix="Pass --dataset with one of them.",
        )
    return pipeline.datasets[dataset]


def files_of(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """(local file, its name under landing/<dataset>/): a file by its name, a folder's files
    (hidden ones left out) by their path inside it, in name order."""
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(path)
                if f.is_file() and not any(p.startswith(".") for p in rel.parts):
                    yield f, rel.as_posix()
        elif path.is_file():
            yield path, path.name
        else:
            raise ConfigError(f"{path}: no such file or folder", fix="Check the path.")


def sha256(path: Path) -> str:
    return fingerprint(path).sha256


def fingerprint(path: Path) -> Fingerprint:
    hasher = Hasher()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
    return hasher.result()


def already_landed(ports: Ports, dataset: str, target: str, content: Fingerprint) -> str | None:
    """Why content needs no sending, or None: in the lake's terms (fingerprint.py), it is in
    landing under this name, or a run of the dataset processed it (under any name)."""
    there = ports.storage.stat("landing", target)
    if there is not None and content.matches(ports.storage.checksum("landing", target)):
        return f"landing/{target} already holds the same content"
    for run in ports.runlog.list(dataset=dataset, limit=None):
        if content.matches(run.file_hash):
            return f"the same content was landed as {run.file} (run {run.run_id})"
    return None


def land(
    pipeline: Pipeline,
    ports: Ports,
    paths: list[Path],
    dataset: str,
    *,
    check: bool = False,
    on_start: Callable[[Path, str, int], None] | None = None,
    on_progress: Progress | None = None,
) -> list[Landed]:
    """Land each file (see the module's docstring); the CLI prints the outcomes."""
    spec = dataset_spec(pipeline, dataset)
    done = []
    for local, name in files_of(paths):
        done.append(
            land_one(pipeline, ports, spec, dataset, local, name, check, on_start, on_progress)
        )
    return done


def land_one(
    pipeline: Pipeline,
    ports: Ports,
    spec: DatasetSpec,
    dataset: str,
    local: Path,
    name: str,
    check: bool,
    on_start: Callable[[Path, str, int], None] | None = None,
    on_progress: Progress | None = None,
) -> Landed:
    target = f"{dataset}/{name}"
    content = fingerprint(local)
    size, digest = content.size, content.sha256
    if not would_read(spec.source, target):
        reason = (
            f"landing/{target} would not be read: dataset {dataset} takes {spec.source!r}. "
            "Rename the file, or change the dataset's source in pipeline.yaml."
        )
        return Landed(local, target, Outcome.REFUSED, digest, size, reason)
    seen = already_landed(ports, dataset, target, content)
    if seen:
        return Landed(local, target, Outcome.SKIPPED, digest, size, seen)
    if ports.storage.stat("landing", target) is not None:
        # landing's rule (decision 0033): a landed file is never replaced; the run log knows
        # it by its content, so other bytes under its name would be a second delivery in disguise
        reason = (
            f"landing/{target} already holds another file (different content, or an object "
            "too big to compare without reading it). Files in landing are never replaced: "
            "land it under a new name."
        )
        return Landed(local, target, Outcome.REFUSED, digest, size, reason)
    if check:
        try:
            check_file(pipeline, spec, dataset, local, target)
        except MedalistError as exc:
            return Landed(local, target, Outcome.REFUSED, digest, size, str(exc))
    if on_start:
        on_start(local, target, size)
    send(ports.storage, local, target, on_progress)
    return Landed(local, target, Outcome.LANDED, digest, size)


def send(storage: Storage, local: Path, target: str, on_progress: Progress | None = None) -> None:
    """Stream the file into a staged object, then publish it; a failure leaves nothing."""
    token = uuid4().hex
    try:
        with open(local, "rb") as src, open_staged(storage, "landing", target, token) as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
                if on_progress:
                    on_progress(len(chunk))
        storage.publish("landing", target, token)
    except BaseException:
        storage.unstage("landing", target, token)
        raise


def check_file(
    pipeline: Pipeline, spec: DatasetSpec, dataset: str, local: Path, target: str
) -> None:
    """What Crawl would refuse, found before sending: the format, the CSV header, required and
    key columns, and schema drift under `on_schema_drift: fail`. InputError says why."""
    from medalist.contracts.drift import detect
    from medalist.engine import FileSpec
    from medalist.engine.duckdb import DuckDBEngine
    from medalist.engine.formats import detect_format
    from medalist.engine.sniff import HEAD_BYTES, sniff
    from medalist.states.crawl import TYPED_FORMATS, _apply_policy, _require, match_columns

    where = str(local)
    try:
        fmt = detect_format(target, spec.format, dataset)
        if local.stat().st_size == 0:
            raise InputError("is empty (0 bytes), not even a header")
        delimiter = None
        if fmt in (Format.csv, Format.tsv):
            with open(local, "rb") as f:
                delimiter = sniff(f.read(HEAD_BYTES), spec.csv, fmt).delimiter
        file = FileSpec(str(local), fmt, spec.csv, delimiter, frozenset(spec.columns))
        engine = DuckDBEngine(pipeline.memory_limit)
        try:
            columns = engine.describe(file)
        finally:
            engine.close()
    except InputError as err:
        err.path = where
        raise
    mapping = match_columns(spec, list(columns))
    _require(spec, mapping, columns, file, where)
    _apply_policy(spec, detect(columns, mapping, None, fmt in TYPED_FORMATS), fmt, where)
