"""Apache Spark as the engine (`engine: spark`): the same contracts, quarantine, dedupe, silver,
gold models and load as DuckDB, on a cluster (Glue 5 runs Spark 3.5). Needs medalist[spark].

Modules: session (one SparkSession per process), reader (landed files as text),
validation (a file into silver and quarantine in one job), rows (numbering and counts on the
driver), writer (part files into one Parquet file), engine (the Engine port)."""

from medalist.engine.spark.engine import SparkEngine

__all__ = ["SparkEngine"]
