"""The run log and file registry in the SQLite metastore."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from medalist.errors import NotFound
from medalist.metastore import connect, iso, metastore_path
from medalist.runlog import ConcurrentUpdate, RunRecord, Status

_JSON_FIELDS = ("rule_counts", "error", "history", "outputs")
_FIELDS = tuple(RunRecord.model_fields)


class SqliteRunLog:
    """Runs and the file registry, in <lake>/_medalist/metastore.sqlite."""

    def __init__(self, lake: Path) -> None:
        self.con = connect(metastore_path(lake))

    def claim(self, run: RunRecord) -> RunRecord | None:
        try:
            self.con.execute("BEGIN IMMEDIATE")
            self.con.execute(
                "INSERT INTO files (dataset, file, file_hash, run_id) VALUES (?, ?, ?, ?)",
                (run.dataset, run.file, run.file_hash, run.run_id),
            )
            row = _to_row(run.model_copy(update={"version": 1}))
            marks = ", ".join("?" * len(row))
            self.con.execute(
                f"INSERT INTO runs ({', '.join(row)}) VALUES ({marks})", tuple(row.values())
            )
            self.con.execute("COMMIT")
        except sqlite3.IntegrityError:
            self.con.execute("ROLLBACK")
            return None
        return run.model_copy(update={"version": 1})

    def claimed_by(self, dataset: str, file: str, file_hash: str) -> RunRecord | None:
        row = self.con.execute(
            "SELECT run_id FROM files WHERE dataset = ? AND file = ? AND file_hash = ?",
            (dataset, file, file_hash),
        ).fetchone()
        return self.get(row["run_id"]) if row else None

    def last_run(self, dataset: str, file: str) -> RunRecord | None:
        row = self.con.execute(
            "SELECT * FROM runs WHERE dataset = ? AND file = ? ORDER BY run_id DESC LIMIT 1",
            (dataset, file),
        ).fetchone()
        return _from_row(row) if row else None

    def update(self, run: RunRecord) -> RunRecord:
        new = run.model_copy(update={"version": run.version + 1})
        row = _to_row(new)
        sets = ", ".join(f"{k} = ?" for k in row)
        cur = self.con.execute(
            f"UPDATE runs SET {sets} WHERE run_id = ? AND version = ?",
            (*row.values(), run.run_id, run.version),
        )
        if cur.rowcount != 1:
            raise ConcurrentUpdate(f"run {run.run_id} changed since version {run.version}")
        return new

    def get(self, run_id: str) -> RunRecord:
        rows = self.con.execute(
            "SELECT * FROM runs WHERE run_id LIKE ? ORDER BY run_id LIMIT 2",
            (run_id.upper() + "%",),
        ).fetchall()
        if len(rows) != 1:
            why = "no run" if not rows else "more than one run"
            raise NotFound(f"{why} has an id starting with {run_id!r}", fix="See `medalist runs`.")
        return _from_row(rows[0])

    def list(
        self, *, dataset: str | None = None, status: Status | None = None, limit: int = 50
    ) -> list[RunRecord]:
        where, args = [], []
        if dataset:
            where.append("dataset = ?")
            args.append(dataset)
        if status:
            where.append("status = ?")
            args.append(str(status))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.con.execute(
            f"SELECT * FROM runs {clause} ORDER BY started_at DESC, run_id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [_from_row(r) for r in rows]


def _to_row(run: RunRecord) -> dict[str, Any]:
    data = run.model_dump(mode="json")
    for key in _JSON_FIELDS:
        data[key] = json.dumps(data[key]) if data[key] is not None else None
    data["started_at"] = iso(run.started_at)
    data["ended_at"] = iso(run.ended_at)
    data["lease_expires_at"] = iso(run.lease_expires_at)
    return data


def _from_row(row: sqlite3.Row) -> RunRecord:
    data = {k: row[k] for k in _FIELDS}
    for key in _JSON_FIELDS:
        data[key] = json.loads(data[key]) if data[key] is not None else None
    data["status"] = Status(data["status"])
    return RunRecord.model_validate(data)
