"""DuckDB as the engine: reads, validates and writes out of core (spilling to disk)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from medalist.config import Format
from medalist.contracts.rules import Reading, ident, literal, row_checks_only
from medalist.engine import Validation, ValidationJob
from medalist.engine.duckdb.base import _TAG
from medalist.engine.duckdb.batch import _SLOTS, BatchValidation
from medalist.engine.duckdb.errors import _unreadable
from medalist.engine.duckdb.merge import Merging
from medalist.engine.duckdb.streaming import _BROKEN, BATCH_ROWS
from medalist.incremental import INCOMING

_SCRATCH = "scratch-"  # scratch database files in the engine's temp folder
_STALE_S = 24 * 3600  # a scratch file this old was left by a process that died


class DuckDBEngine(BatchValidation, Merging):
    """One in-memory DuckDB per run, with a memory ceiling and a spill folder (always local).

    `filesystem`: an fsspec filesystem registered on the connection, through which DuckDB
    reads and writes its URLs (s3fs for a lake on S3: `read_csv`, `read_parquet` and
    `COPY … TO 's3://…'` stream objects in ranges and parts, never a whole file)."""

    def __init__(
        self,
        memory_limit: str = "768MB",
        temp_dir: Path | None = None,
        filesystem: Any | None = None,
    ) -> None:
        _use_system_allocator()
        # No TimeZone setting: it needs the ICU extension, which cannot be downloaded here;
        # without ICU DuckDB works in UTC, which is what we want anyway.
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit,
            # DuckDB caches the blocks of files it reads, for the next read; a landed file is
            # read once, so the cache only takes memory (a scan of 20M CSV rows: 208 MB
            # peak with it, 156 MB without).
            "enable_external_file_cache": False,
        }
        self._scratch: Path | None = None
        self._temp_dir = temp_dir or Path(tempfile.gettempdir())
        if temp_dir is not None:
            temp_dir.mkdir(parents=True, exist_ok=True)
            config["temp_directory"] = str(temp_dir)
            self._scratch = temp_dir / f"{_SCRATCH}{uuid.uuid4().hex}.duckdb"
            _remove_stale_scratch(temp_dir)
        self.con = duckdb.connect(config=config)
        if filesystem is not None:
            self.con.register_filesystem(filesystem)
        self._budget = _bytes(self._fetch("SELECT current_setting('memory_limit')")[0][0])
        self._landed = "landed"
        self.con.execute(
            "CREATE SCHEMA IF NOT EXISTS silver; CREATE SCHEMA IF NOT EXISTS gold; "
            f"CREATE SCHEMA IF NOT EXISTS {INCOMING}"
        )

    def validate(self, job: ValidationJob) -> Validation:
        file, dataset = job.file, job.dataset
        csv = file.format in (Format.csv, Format.tsv)
        try:
            source = self._source(file, as_text=True, rejects=csv)
            described = self._fetch(f"DESCRIBE SELECT * FROM {source}")
        except duckdb.Error as exc:
            raise _unreadable(exc, file.url, file.format) from None
        source_columns = {name: str(kind) for name, kind, *_ in described}
        reading = Reading(
            source_columns,
            job.mapping,
            job.extras,
            decimal_comma=csv and file.csv.decimal_separator == ",",
            dataset_name=job.dataset_name,
        )
        lineage = (
            f"{literal(job.run_id)} AS _run_id, {literal(job.source_file)} AS "
            f"_source_file, CAST({literal(job.ingested_at.isoformat())} AS TIMESTAMPTZ)"
            f" AS _ingested_at"
        )
        try:
            if row_checks_only(dataset):
                return self._validate_streaming(job, source, reading, lineage)
            return self._validate_table(job, source, reading, lineage)
        finally:
            self.con.execute(
                "DROP VIEW IF EXISTS checked; DROP TABLE IF EXISTS rejected; "
                f"DROP TABLE IF EXISTS {self._landed}"
            )

    def tag(self, url: str) -> str | None:
        found = self._fetch(
            f"SELECT decode(value) FROM parquet_kv_metadata({literal(url)}) "
            f"WHERE decode(key) = {literal(_TAG)}"
        )
        return str(found[0][0]) if found else None

    def columns(self, url: str) -> dict[str, str]:
        rows = self._fetch(f"DESCRIBE SELECT * FROM read_parquet({literal(url)})")
        return {name: str(kind) for name, kind, *_ in rows}

    def scan_file(self, url: str) -> pa.RecordBatchReader:
        return self._stream(f"SELECT * FROM read_parquet({literal(url)})")

    def scan_table(self, schema: str, name: str) -> pa.RecordBatchReader:
        return self._stream(f"SELECT * FROM {ident(schema)}.{ident(name)}")

    def _stream(self, sql: str) -> pa.RecordBatchReader:
        return self.con.sql(sql).to_arrow_reader(BATCH_ROWS)

    def apart(self) -> Apart:
        """The same database on a connection of its own, for one other thread (a batch's
        load ahead reads silver on it while this connection builds gold)."""
        return Apart(self.con.cursor())

    def close(self) -> None:
        self.con.close()
        self._remove_slots()
        if self._scratch is not None:
            for path in (self._scratch, self._scratch.with_name(self._scratch.name + ".wal")):
                path.unlink(missing_ok=True)


def _use_system_allocator() -> None:
    """Arrow's batches (splitting, encoding for COPY) come from the C library's allocator
    rather than Arrow's default, mimalloc, which kept what the streaming threads freed: 5M
    rows peaked at 542-544 MB with it, 447-483 MB without, in the same time. Arrow's own
    ARROW_DEFAULT_MEMORY_POOL still decides when it is set."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())


_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _bytes(setting: str) -> int:
    """DuckDB's spelling of a size ('732.4 MiB') in bytes."""
    number, _, unit = setting.strip().partition(" ")
    return int(float(number) * _UNITS.get(unit, 1))


def _remove_stale_scratch(folder: Path) -> None:
    """Scratch databases and folders of engines that died without closing (no run lasts a
    day)."""
    cutoff = time.time() - _STALE_S
    for path in [*folder.glob(f"{_SCRATCH}*.duckdb*"), *folder.glob(f"{_BROKEN}*.parquet")]:
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
    for path in folder.glob(f"{_SLOTS}*"):  # a batch's partitioned writes (engine/duckdb/batch)
        with contextlib.suppress(OSError):
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)


class Apart(Merging):
    """A second connection to an engine's database (`DuckDBEngine.apart`): it reads, it
    makes no view, so it never meets the engine's own catalog changes."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def close(self) -> None:
        self.con.close()
