"""DuckDB as the engine, in small modules: reader (landed files), validation (rows in a
table), streaming (one pass), merge (silver views, key overlap), errors (our words)."""

from medalist.engine.duckdb.engine import DuckDBEngine
from medalist.engine.duckdb.reader import reader_sql

__all__ = ["DuckDBEngine", "reader_sql"]
