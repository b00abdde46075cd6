"""What every part of the DuckDB engine shares: the connection, the Parquet writer settings."""

from __future__ import annotations

from pathlib import Path

import duckdb

from medalist.contracts.rules import literal
from medalist.engine.writer_settings import PARQUET

_TAG = "medalist_tag"  # Parquet key-value metadata: what a gold version was built from
_PARQUET = PARQUET  # engine/writer_settings.py: row groups of 16,384 rows (decision 0030)


class DuckDBBase:
    """The connection and the few calls every module of the engine makes on it."""

    con: duckdb.DuckDBPyConnection
    _budget: int
    _landed: str
    _scratch: Path | None
    _temp_dir: Path

    def _fetch(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def materialize(self, sql: str, out_url: str, tag: str | None = None) -> int:
        options = _PARQUET
        if tag is not None:
            options += f", KV_METADATA {{{_TAG}: {literal(tag)}}}"
        rows = self._fetch(f"COPY ({sql}) TO {literal(out_url)} ({options})")
        return int(rows[0][0])
