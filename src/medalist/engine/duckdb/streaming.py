"""One-pass validation of files whose rules look at one row at a time (decisions 0010, 0012)."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa

from medalist.config import Format
from medalist.contracts.rules import Reading, as_delivered, ident, lean_sql, literal, silver_sql
from medalist.engine import Validation, ValidationJob
from medalist.engine.duckdb.base import _PARQUET
from medalist.engine.duckdb.errors import _unreadable
from medalist.engine.duckdb.validation import TableValidation, _renumbered
from medalist.engine.split import SplitStream

BATCH_ROWS = 25_000  # rows per Arrow batch streamed (5M rows: 620 MB peak; 100k rows: 770 MB)
_BROKEN = "broken-"  # broken rows of a streamed file, set aside for quarantine


class StreamingValidation(TableValidation):
    """Validation streamed through a SplitStream: silver written as the rows are checked."""

    def _validate_streaming(
        self, job: ValidationJob, source: str, reading: Reading, lineage: str
    ) -> Validation:
        """One pass types and checks every row and streams it on (decisions 0010 and 0012):
        valid rows straight into silver, broken rows into a scratch file for quarantine, and
        silver's rows to the job's tap. Nothing is held whole, so memory does not grow with
        the file. A file with malformed lines or repeated keys has its silver rewritten after
        (row numbers shifted, last row per key kept), and the tap's rows are then not silver's."""
        file, dataset = job.file, job.dataset
        csv = file.format in (Format.csv, Format.tsv)
        broken_path = self._temp_dir / f"{_BROKEN}{uuid.uuid4().hex}.parquet"
        key = dataset.primary_key[0] if len(dataset.primary_key) == 1 else None
        split: SplitStream | None = None
        try:
            try:
                split, rows_silver = self._stream_silver(
                    job, source, reading, lineage, key, broken_path
                )
            except duckdb.Error as exc:
                raise _unreadable(exc, file.url, file.format) from None
            malformed = self._set_rejects_aside(file) if csv else 0
            # Keys that only ever increase cannot repeat: no need to count distinct keys.
            repeats = bool(dataset.primary_key) and not split.keys_increase
            repeats = repeats and self._key_repeats(job)
            split.close_broken()
            if malformed or repeats:
                split.abandon()
                rows_silver = self._rewrite_silver(job, renumber=bool(malformed), dedupe=repeats)
            rows_bad = 0
            if split.broken or malformed:
                broken = (
                    _broken_rows(broken_path, reading, renumber=bool(malformed))
                    if split.broken
                    else _no_rows(reading)
                )
                rows_bad = self._quarantine(job, reading, broken, lineage, malformed)
            result = self._conclude(job, split.rows + malformed, rows_silver, rows_bad)
            tapped = split.finish() if not (malformed or repeats) else False
            return dataclasses.replace(result, tapped=tapped)
        except BaseException:
            if split is not None:
                split.abandon()
            raise
        finally:
            broken_path.unlink(missing_ok=True)

    def _stream_silver(
        self,
        job: ValidationJob,
        source: str,
        reading: Reading,
        lineage: str,
        key: str | None,
        broken_path: Path,
    ) -> tuple[SplitStream, int]:
        """Write silver from the one-pass query, through a SplitStream; (the stream, rows)."""
        dataset = job.dataset
        lineage_values = {
            "_run_id": pa.scalar(job.run_id, pa.string()),
            "_source_file": pa.scalar(job.source_file, pa.string()),
            "_ingested_at": pa.scalar(job.ingested_at, pa.timestamp("us", tz="UTC")),
        }
        threads = int(self._fetch("SELECT current_setting('threads')")[0][0])
        # The stream's reader runs the one-pass query on the thread that pulls from it: one
        # thread more keeps the writer's threads busy (3.3 s instead of 3.8 s on 5M rows).
        self.con.execute(f"SET threads = {threads + 1}")
        try:
            reader = self.con.sql(lean_sql(dataset, source, reading)).to_arrow_reader(BATCH_ROWS)
            split = SplitStream(
                reader,
                broken_path,
                [*dataset.columns, *job.extras],
                lineage_values,
                key,
                job.tap,
            )
            # Silver's rows carry their place (_source_row): the writer need not keep their
            # order, which spares it holding batches back (5M rows: 490 MB peak, not 590).
            # The setting is the database's; the reader above was planned in order already.
            writer = self.con.cursor()
            try:
                writer.execute("SET preserve_insertion_order = false")
                writer.register("landed_stream", split.rows_reader())
                valid = "(SELECT * FROM landed_stream WHERE NOT _bad)"
                silver = silver_sql(dataset, valid, lineage, job.extras, dedupe_needed=False)
                rows = writer.execute(
                    f"COPY ({silver}) TO {literal(job.silver_url)} ({_PARQUET})"
                ).fetchall()
            finally:
                writer.close()
                reader.close()
        finally:
            self.con.execute(f"SET threads = {threads}; RESET preserve_insertion_order")
        return split, int(rows[0][0])


def _broken_rows(path: Path, reading: Reading, *, renumber: bool) -> str:
    """The broken rows a SplitStream set aside, under their delivered names (row numbers
    shifted past malformed lines when there were some)."""
    row = _renumbered("b._source_row") if renumber else "b._source_row"
    return (
        f"(SELECT {row} AS _source_row, {as_delivered(reading.source_columns)} "
        f"FROM read_parquet({literal(str(path))}) AS b)"
    )


def _no_rows(reading: Reading) -> str:
    """An empty relation shaped like the delivered rows (text), with _source_row."""
    cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c in reading.source_columns)
    return f"(SELECT CAST(NULL AS BIGINT) AS _source_row, {cols} WHERE false)"
