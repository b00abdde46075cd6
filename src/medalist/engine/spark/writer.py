"""Spark writes a folder of part files; the lake keeps one Parquet file per run and zone (what
the run log publishes, the catalog registers and every reader expects). The parts are copied
row group by row group into that one file, staged where no reader looks (decision 0026)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TAG_KEY = b"medalist_tag"


def combine(parts_dir: Path, out_url: str, tag: str | None = None) -> int:
    """Copy the part files of `parts_dir` into one Parquet file at `out_url` (zstd, one row
    group per part's row group); remove the folder; return the rows."""
    parts = sorted(parts_dir.glob("part-*.parquet"))
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for part in parts:
            source = pq.ParquetFile(part)
            if writer is None:
                schema = _plain(source.schema_arrow)
                if tag is not None:
                    schema = schema.with_metadata({TAG_KEY: tag.encode()})
                Path(out_url).parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(out_url, schema, compression="zstd")
            for group in range(source.num_row_groups):
                table = source.read_row_group(group)
                rows += table.num_rows
                writer.write_table(table.cast(writer.schema, safe=False))
        if writer is None:
            raise RuntimeError(f"Spark wrote no part file in {parts_dir}")
    finally:
        if writer is not None:
            writer.close()
        shutil.rmtree(parts_dir, ignore_errors=True)
    return rows


def _plain(schema: pa.Schema) -> pa.Schema:
    """The parts' schema without Spark's own metadata (its row schema as JSON)."""
    return pa.schema([f.with_metadata(None) for f in schema])
