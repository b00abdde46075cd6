"""Frozen result records of each state: stored in the run log, shown by `medalist show`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from medalist.config import Format


@dataclass(frozen=True)
class StateResult:
    def run_fields(self) -> dict[str, Any]:
        """Run-log fields this result sets (rows_in, …)."""
        return {}

    def heads(self) -> dict[str, str]:
        """Heads this result moves when its state commits (name -> version)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CrawlResult(StateResult):
    format: Format
    columns: dict[str, str]  # as detected in the file
    mapping: dict[str, str | None]  # contract column -> file column
    schema_version: int
    ignored_columns: list[str] = field(default_factory=list)
    delimiter: str | None = None  # as sniffed, for CSV/TSV
    extras: dict[str, str] = field(default_factory=dict)  # evolved columns -> SQL type
    drift: str | None = None  # the drift seen, described (+added, -removed, ~retyped)
    sniffed_with: str | None = None  # in a batch: the file whose sniff gave `columns` (0046)
    # In a batch, for a CSV whose quotes Crawl counted: whether they pair up. Only such a file
    # shares Transform's one pass (decision 0046: a quote left open loses a line there).
    quotes_paired: bool | None = None


@dataclass(frozen=True)
class TransformResult(StateResult):
    rows_in: int
    rows_silver: int
    rows_quarantined: int
    rows_duplicate: int
    rule_counts: dict[str, int]
    silver_path: str
    quarantine_path: str | None
    gold_rows: dict[str, int]
    gold_version: str | None = None  # gold/<model>/<version>.parquet, None without models
    ingested_at: str | None = None  # the lineage timestamp on every silver row of the run
    gold_merged: list[str] = field(default_factory=list)  # models merged, not rebuilt whole
    staged_rows: int | None = None  # silver rows already staged in the destination (load ahead)
    new_keys: bool = False  # no key of the run's rows was in silver: Load may insert them plainly

    def heads(self) -> dict[str, str]:
        return {"gold": self.gold_version} if self.gold_version else {}

    def run_fields(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_silver": self.rows_silver,
            "rows_quarantined": self.rows_quarantined,
            "rule_counts": self.rule_counts,
        }


@dataclass(frozen=True)
class LoadResult(StateResult):
    tables: dict[str, int]
    models_merged: list[str] = field(default_factory=list)  # destination models merged (ELT)

    def run_fields(self) -> dict[str, Any]:
        return {"rows_loaded": sum(self.tables.values())}


RESULT_TYPES: dict[str, type[StateResult]] = {
    "Crawl": CrawlResult,
    "Transform": TransformResult,
    "Load": LoadResult,
}


def result_from_dict(state: str, data: dict[str, Any]) -> StateResult:
    """Rebuild a stored result (for a run resumed by another process)."""
    kind = RESULT_TYPES[state]
    if kind is CrawlResult:
        data = {**data, "format": Format(data["format"])}
    return kind(**data)
