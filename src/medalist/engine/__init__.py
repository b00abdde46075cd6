"""The Engine port (Glue jobs in the AWS design): the SQL work over files.

The local adapter is DuckDB; a Spark adapter implements the same methods for Glue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import pyarrow as pa

from medalist.config import DatasetSpec, Format


@dataclass(frozen=True)
class ValidationJob:
    """Everything the engine needs to split one landed file into silver and quarantine."""

    url: str
    format: Format
    dataset: DatasetSpec
    mapping: dict[str, str | None]  # contract column -> delivered column (None: missing)
    run_id: str
    source_file: str
    ingested_at: datetime
    silver_url: str
    quarantine_url: str


@dataclass(frozen=True)
class Validation:
    """What validation found: counts, per-rule counts, and whether a quarantine file exists."""

    rows_in: int
    rows_silver: int
    rows_quarantined: int
    rows_duplicate: int
    rule_counts: dict[str, int] = field(default_factory=dict)


class Engine(Protocol):
    def describe(self, url: str, fmt: Format) -> dict[str, str]:
        """Columns of a landed file and the types the engine detects, in file order."""

    def validate(self, job: ValidationJob) -> Validation:
        """Check a file against its contract; write valid rows and rejected rows."""

    def expose(
        self, schema: str, name: str, urls: list[str], columns: dict[str, str], latest_by: list[str]
    ) -> None:
        """Make schema.name queryable over Parquet files (typed and empty when there are none);
        with latest_by, keep one row per key: the latest run's, then the highest source row."""

    def materialize(self, sql: str, out_url: str) -> int:
        """Run a query and write its result as one Parquet file; return the row count."""

    def scan_file(self, url: str) -> pa.RecordBatchReader:
        """Stream a Parquet file as Arrow batches (consume it before the next call)."""

    def scan_table(self, schema: str, name: str) -> pa.RecordBatchReader:
        """Stream an exposed view (e.g. silver.orders) as Arrow batches."""

    def close(self) -> None:
        """Release the engine's resources."""
