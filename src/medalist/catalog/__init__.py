"""The Catalog port (Glue Data Catalog in the AWS design): each dataset's schema versions, and
the tables other readers (Athena) use, pointed at exactly what the run log published."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class SchemaDiff:
    """How a schema differs from the previous version."""

    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def between(cls, old: dict[str, str], new: dict[str, str]) -> SchemaDiff:
        return cls(
            added={c: t for c, t in new.items() if c not in old},
            removed={c: t for c, t in old.items() if c not in new},
            retyped={c: (old[c], t) for c, t in new.items() if c in old and old[c] != t},
        )

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    def describe(self) -> str:
        parts = [f"+{c} {t}" for c, t in self.added.items()]
        parts += [f"-{c} {t}" for c, t in self.removed.items()]
        parts += [f"~{c} {a}→{b}" for c, (a, b) in self.retyped.items()]
        return ", ".join(parts) or "no change"


@dataclass(frozen=True)
class SchemaVersion:
    dataset: str
    version: int
    columns: dict[str, str]
    diff: SchemaDiff
    file: str | None
    created_at: datetime


@dataclass(frozen=True)
class PublishedTable:
    """What readers see of one table of a zone right after a commit: its objects (URLs, as
    `Storage.url` gives them) and their columns (DuckDB types). `exact`: the columns are the
    whole schema (gold: one file); otherwise they add to the table's (silver and quarantine
    hold files of many runs, which may differ)."""

    zone: Literal["silver", "gold", "quarantine"]
    name: str
    urls: tuple[str, ...]
    columns: dict[str, str]
    exact: bool = False


class Catalog(Protocol):
    def latest(self, dataset: str) -> SchemaVersion | None:
        """The current schema version of a dataset, if it has one."""

    def register(
        self, dataset: str, columns: dict[str, str], file: str, run_id: str
    ) -> SchemaVersion:
        """Record the schema seen in a file; a new version only when it differs from the latest."""

    def versions(self, dataset: str) -> list[SchemaVersion]:
        """Every version of a dataset, oldest first."""


@runtime_checkable
class SupportsPublishing(Protocol):
    """A catalog other readers (Athena) query: its tables must follow what the run log
    publishes. Medalist's own readers ask the run log, so the local catalog does not need it."""

    def publish(self, tables: Sequence[PublishedTable]) -> None:
        """Point these tables at exactly these objects; called right after a run-log commit,
        holding the pipeline's lock."""
