"""The catalog in the SQLite metastore."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from medalist.catalog import SchemaDiff, SchemaVersion
from medalist.metastore import connect, iso, metastore_path, now


class SqliteCatalog:
    def __init__(self, lake: Path, metastore: Path | None = None) -> None:
        """The catalog in <lake>/_medalist/metastore.sqlite, or in the `metastore` file (a lake
        on S3 keeps it in its local state folder: decision 0019)."""
        self.con = connect(metastore or metastore_path(lake))

    def latest(self, dataset: str) -> SchemaVersion | None:
        row = self.con.execute(
            "SELECT * FROM catalog WHERE dataset = ? ORDER BY version DESC LIMIT 1", (dataset,)
        ).fetchone()
        return _version(row) if row else None

    def register(
        self, dataset: str, columns: dict[str, str], file: str, run_id: str
    ) -> SchemaVersion:
        self.con.execute("BEGIN IMMEDIATE")
        try:
            current = self.latest(dataset)
            if current and current.columns == columns:
                self.con.execute("COMMIT")
                return current
            diff = SchemaDiff.between(current.columns if current else {}, columns)
            version = (current.version if current else 0) + 1
            created = now()
            self.con.execute(
                "INSERT INTO catalog (dataset, version, columns, diff, file, run_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    dataset,
                    version,
                    json.dumps(columns),
                    json.dumps(asdict(diff)),
                    file,
                    run_id,
                    iso(created),
                ),
            )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        # As stored (to the millisecond), so it equals what latest() reads back.
        return SchemaVersion(dataset, version, columns, diff, file, _stored(created))

    def versions(self, dataset: str) -> list[SchemaVersion]:
        rows = self.con.execute(
            "SELECT * FROM catalog WHERE dataset = ? ORDER BY version", (dataset,)
        ).fetchall()
        return [_version(r) for r in rows]


def _stored(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _version(row: sqlite3.Row) -> SchemaVersion:
    diff = json.loads(row["diff"])
    diff["retyped"] = {k: tuple(v) for k, v in diff["retyped"].items()}
    return SchemaVersion(
        row["dataset"],
        row["version"],
        json.loads(row["columns"]),
        SchemaDiff(**diff),
        row["file"],
        datetime.fromisoformat(row["created_at"]),
    )
