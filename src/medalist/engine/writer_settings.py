"""How the engine writes Parquet (silver, quarantine, gold).

Row groups of 32,768 rows instead of DuckDB's 122,880: its parallel writer holds a row group
per thread in flight, and from an Arrow stream (silver's writer) those buffers were most of
what a run's peak memory grew by with the file. Measured on the benchmark's sales rows, the
writer alone on 3 threads: 1M rows 375 → 322 MB, 5M rows 475 → 381 MB, in the same time; a
whole run: see docs/benchmarks.md (decision 0030). Readers lose nothing measurable: a row group
of 32k rows is still far above the size where per-group overhead shows.
"""

from __future__ import annotations

ROW_GROUP_ROWS = 32_768
PARQUET = f"FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS}"
