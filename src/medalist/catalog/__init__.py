"""The Catalog port (Glue Data Catalog in the AWS design): each dataset's schema versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


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


class Catalog(Protocol):
    def latest(self, dataset: str) -> SchemaVersion | None:
        """The current schema version of a dataset, if it has one."""

    def register(
        self, dataset: str, columns: dict[str, str], file: str, run_id: str
    ) -> SchemaVersion:
        """Record the schema seen in a file; a new version only when it differs from the latest."""

    def versions(self, dataset: str) -> list[SchemaVersion]:
        """Every version of a dataset, oldest first."""
