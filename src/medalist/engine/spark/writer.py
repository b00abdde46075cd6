"""Spark writes a folder of part files; the lake keeps one Parquet file per run and zone (what
the run log publishes, the catalog registers and every reader expects). The parts are copied
batch by batch into that one file, staged where no reader looks (decision 0026), in row
groups of at most BATCH_ROWS rows, so neither this copy nor a later reader (the load) holds
more than one such batch (decision 0040)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TAG_KEY = b"medalist_tag"
BATCH_ROWS = 131_072


def combine(
    parts_dir: Path,
    out_url: str,
    tag: str | None = None,
    *,
    columns: Sequence[str] | None = None,
    rows: Callable[[pa.Table], pa.Table] | None = None,
    keep_parts: bool = False,
) -> int:
    """Copy the part files of `parts_dir` into one Parquet file at `out_url` (zstd): only
    `columns` of them (all when None), each batch through `rows` (which may filter, rename,
    compute); remove the folder unless `keep_parts`; return the rows written."""
    parts = sorted(parts_dir.glob("part-*.parquet"))
    written = 0
    writer: pq.ParquetWriter | None = None
    pending: list[pa.Table] = []
    try:
        for part in parts:
            source = pq.ParquetFile(part)
            if writer is None:
                empty = source.schema_arrow.empty_table()
                schema = _plain(
                    (
                        rows(empty.select(columns or empty.column_names))
                        if rows
                        else empty.select(columns or empty.column_names)
                    ).schema
                )
                if tag is not None:
                    schema = schema.with_metadata({TAG_KEY: tag.encode()})
                Path(out_url).parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(out_url, schema, compression="zstd")
            for batch in source.iter_batches(BATCH_ROWS, columns=columns):
                table = pa.Table.from_batches([batch])
                table = table.select(columns) if columns else table  # in file order otherwise
                table = rows(table) if rows else table
                if not table.num_rows:
                    continue
                pending.append(table.cast(writer.schema, safe=False))
                if sum(t.num_rows for t in pending) >= BATCH_ROWS:
                    written += _flush(writer, pending)
        if writer is None:
            raise RuntimeError(f"Spark wrote no part file in {parts_dir}")
        written += _flush(writer, pending)
    finally:
        if writer is not None:
            writer.close()
        if not keep_parts:
            shutil.rmtree(parts_dir, ignore_errors=True)
    return written


def _flush(writer: pq.ParquetWriter, pending: list[pa.Table]) -> int:
    if not pending:
        return 0
    table = pa.concat_tables(pending)
    pending.clear()
    writer.write_table(table, row_group_size=BATCH_ROWS)
    return table.num_rows


def _plain(schema: pa.Schema) -> pa.Schema:
    """The parts' schema without Spark's own metadata (its row schema as JSON)."""
    return pa.schema([f.with_metadata(None) for f in schema])
