"""The Engine port (Glue jobs in the AWS design): the SQL work over files.

The local adapter is DuckDB; a Spark adapter implements the same methods for Glue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pyarrow as pa

from medalist.config import CsvOptions, DatasetSpec, Format
from medalist.errors import InputError

if TYPE_CHECKING:
    from medalist.incremental import Decomposable


@dataclass(frozen=True)
class FileSpec:
    """One landed file and how to read it."""

    url: str
    format: Format
    csv: CsvOptions
    delimiter: str | None = None  # as sniffed when `csv.delimiter` is not given
    keep_nested: frozenset[str] = frozenset()  # JSON objects kept whole (the contract names them)
    size: int = 0  # bytes on disk, when known

    @property
    def header_lines(self) -> int:
        """Lines before the first data row (CSV and TSV)."""
        return self.csv.skip_rows + (1 if self.csv.header else 0)


@dataclass(frozen=True)
class ValidationJob:
    """Everything the engine needs to split one landed file into silver and quarantine."""

    file: FileSpec
    dataset_name: str
    dataset: DatasetSpec
    mapping: dict[str, str | None]  # contract column -> delivered column (None: missing)
    extras: dict[str, str]  # evolved columns kept beside the contract -> SQL type
    run_id: str
    source_file: str
    ingested_at: datetime
    silver_url: str
    quarantine_url: str
    # Called on a thread of the engine's with silver's rows (lineage included) as they are
    # written, when the engine can stream them; see Validation.tapped.
    tap: Callable[[pa.RecordBatchReader], Any] | None = None
    # Called before the file is validated alone (by `validate`, not in a combined pass): an
    # InputError it raises is the file's (batching.py: a file Crawl took another's sniff for).
    alone_check: Callable[[], None] | None = None


@dataclass(frozen=True)
class Validation:
    """What validation found: counts, per-rule counts, and whether a quarantine file exists."""

    rows_in: int
    rows_silver: int
    rows_quarantined: int
    rows_duplicate: int
    rule_counts: dict[str, int] = field(default_factory=dict)
    tapped: bool = False  # the tap took exactly silver's rows and returned without an error


class Engine(Protocol):
    def describe(self, file: FileSpec) -> dict[str, str]:
        """Columns of a landed file and the types the engine detects, in file order (nested
        JSON objects flattened into `parent__child`)."""

    def validate(self, job: ValidationJob) -> Validation:
        """Check a file against its contract; write valid rows and rejected rows. Raises
        InputError when the file as a whole fails (unreadable, a `fail` rule, max_bad_rows)."""

    def validate_many(self, jobs: Sequence[ValidationJob]) -> list[Validation | InputError]:
        """`validate` for several files of one dataset delivered alike (same format, options,
        columns and mapping): each into its own silver and quarantine file, with the counts,
        row numbers, lineage and reasons `validate` gives it. A file that fails as a whole
        gets its InputError in its place and holds no other back. Any other error raises;
        what was written is then staged files for the caller to discard."""

    def expose(
        self,
        schema: str,
        name: str,
        urls: list[str],
        columns: dict[str, str],
        latest_by: list[str],
        order_by: str | None = None,
    ) -> None:
        """Make schema.name queryable over Parquet files (typed and empty when there are none);
        with latest_by, keep one row per key: the highest `order_by` value (a dataset's
        order_column, e.g. Airbyte's extraction time), then the latest run's, then the highest
        source row."""

    def materialize(self, sql: str, out_url: str, tag: str | None = None) -> int:
        """Run a query and write its result as one Parquet file; return the row count. `tag`
        is kept in the file's metadata (what a gold version was built from)."""

    def merge_gold(
        self, plan: Decomposable, previous_url: str, incoming_sql: str, out_url: str, tag: str
    ) -> int:
        """Write a decomposable model's new version: its previous version (a Parquet file)
        merged with `incoming_sql` (the model over the run's rows, user SQL); return the rows."""

    def tag(self, url: str) -> str | None:
        """The tag a Parquet file was written with, if any."""

    def columns(self, url: str) -> dict[str, str]:
        """A Parquet file's columns and their engine types, in order."""

    def keys_overlap(self, earlier: list[str], new: str | list[str], key: list[str]) -> bool:
        """Whether any key of Parquet file(s) `new` is already in the `earlier` files."""

    def scan_file(self, url: str) -> pa.RecordBatchReader:
        """Stream a Parquet file as Arrow batches (consume it before the next call)."""

    def scan_table(self, schema: str, name: str) -> pa.RecordBatchReader:
        """Stream an exposed view (e.g. silver.orders) as Arrow batches."""

    def close(self) -> None:
        """Release the engine's resources."""


class ReadsApart(Protocol):
    """Reads on a connection of their own, for another thread (`SupportsApart.apart`)."""

    def hold_latest(
        self, urls: list[str], latest_by: list[str], order_by: str | None = None
    ) -> str:
        """Read every file of `urls` now (they may move once this returns) and return a query
        of what a view `expose`d over them with `latest_by` would give, for `scan`."""

    def scan(self, sql: str) -> pa.RecordBatchReader:
        """Stream a query's rows."""

    def keys_overlap(self, earlier: list[str], new: str | list[str], key: list[str]) -> bool:
        """As the engine's."""

    def close(self) -> None:
        """Release the connection (not the engine)."""


@runtime_checkable
class SupportsApart(Protocol):
    """Optional: an engine another thread may read through while it works (a batch's load
    ahead, decision 0057)."""

    def apart(self) -> ReadsApart:
        """A reader on the engine's data with a connection of its own."""


def validate_each(
    validate: Callable[[ValidationJob], Validation], jobs: Sequence[ValidationJob]
) -> list[Validation | InputError]:
    """`validate_many` one file at a time (an engine's `validate`, for files no combined
    pass takes)."""
    results: list[Validation | InputError] = []
    for job in jobs:
        try:
            if job.alone_check:
                job.alone_check()
            results.append(validate(job))
        except InputError as err:
            results.append(err)
    return results
