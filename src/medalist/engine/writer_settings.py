"""How the engine writes Parquet (silver, quarantine, gold).

Row groups of 16,384 rows instead of DuckDB's 122,880: its parallel writer holds a row group
per thread in flight, and from an Arrow stream (silver's writer) those buffers were most of
what a run's peak memory grew by with the file (decision 0030). A whole run into PostgreSQL:
1M rows 429 → 368 MB, 20M rows 501 → 398 MB (+8% over 1M), in the same time.
"""

from __future__ import annotations

ROW_GROUP_ROWS = 16_384
PARQUET = f"FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS}"
