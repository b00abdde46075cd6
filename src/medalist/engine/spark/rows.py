"""What the driver learns from the checked rows Spark wrote, in one pass over a few small
columns (decision 0040): rows per split (to number rows as DuckDB does), rows in and broken,
and per rule how many rows broke it and the first of them.

`_source_row` is provisional until then: `monotonically_increasing_id`, the split in the upper
31 bits, the row within the split in the lower 33. A row's number in the file is its row within
the split, plus the rows of the splits before it, plus one (splits of a file come in order)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROW = "_source_row"
BAD = "_bad"
SPLIT_BITS = 33
BATCH_ROWS = 131_072
LISTS = ("_rules", "_warnings", "_fails")


@dataclass
class Census:
    """Counts over the checked rows (row numbers still provisional)."""

    rows: int = 0
    bad: int = 0
    per_split: Counter[int] = field(default_factory=Counter)
    rule_rows: Counter[str] = field(default_factory=Counter)
    rule_first: dict[str, int] = field(default_factory=dict)

    def numbering(self) -> Callable[[pa.Array], pa.Array]:
        """Provisional `_source_row` values -> the row's number in the file (1-based)."""
        before = [0] * (max(self.per_split, default=0) + 1)
        total = 0
        for split in range(len(before)):
            before[split] = total
            total += self.per_split.get(split, 0)
        offsets = pa.array(before, pa.int64())

        def number(provisional: pa.Array) -> pa.Array:
            split = pc.shift_right(provisional, SPLIT_BITS)
            within = pc.subtract(provisional, pc.shift_left(split, SPLIT_BITS))
            return pc.add(pc.add(within, pc.take(offsets, split)), 1)

        return number

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Count a batch of checked rows (`_source_row`, `_bad` and the rule lists; a table
        in one chunk)."""
        rows = batch.column(ROW)
        self.rows += len(rows)
        self.bad += pc.sum(batch.column(BAD)).as_py() or 0
        splits = pc.value_counts(pc.shift_right(rows, SPLIT_BITS))
        for item in splits.to_pylist():
            self.per_split[item["values"]] += item["counts"]
        for name in LISTS:
            _count_rules(self, batch.column(name), rows)

    def first_rows(self, number: Callable[[pa.Array], pa.Array]) -> dict[str, int]:
        """The first row (numbered as in the file) that broke each rule."""
        return {
            rule: number(pa.array([first], pa.int64()))[0].as_py()
            for rule, first in self.rule_first.items()
        }


def census(parts: Iterable[Path]) -> Census:
    """Count the checked rows in `parts` (Parquet files with `_source_row`, `_bad` and the
    rule lists), a batch at a time."""
    found = Census()
    for part in parts:
        source = pq.ParquetFile(part)
        for batch in source.iter_batches(BATCH_ROWS, columns=[ROW, BAD, *LISTS]):
            found.add(batch)
    found.rule_first = found.first_rows(found.numbering())
    return found


def rows_per_split(parts: Iterable[Path]) -> Counter[int] | None:
    """Rows per split from the part files' footers alone (no data read): Spark writes one
    file per task, a task reads one split, and each row group's statistics give its lowest
    and highest `_source_row`. None when a footer cannot say (no statistics, or a file
    whose rows come from two splits): then `census` counts them."""
    found: Counter[int] = Counter()
    for part in parts:
        meta = pq.ParquetFile(part).metadata
        at = [meta.schema.column(i).path for i in range(meta.num_columns)].index(ROW)
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            stats = group.column(at).statistics
            if not group.num_rows:
                continue
            if stats is None or not stats.has_min_max:
                return None
            split = stats.min >> SPLIT_BITS
            if stats.max >> SPLIT_BITS != split:
                return None
            found[split] += group.num_rows
    return found


def _count_rules(found: Census, lists: pa.Array, rows: pa.Array) -> None:
    labels = pc.list_flatten(lists)
    if not len(labels):
        return
    owners = pc.take(rows, pc.list_parent_indices(lists))
    grouped = (
        pa.table({"rule": labels, "row": owners})
        .group_by("rule")
        .aggregate([("row", "count"), ("row", "min")])
    )
    for rule, n, first in zip(
        *(grouped.column(c).to_pylist() for c in ("rule", "row_count", "row_min")), strict=True
    ):
        found.rule_rows[rule] += n
        found.rule_first[rule] = min(first, found.rule_first.get(rule, first))
