"""The run log and file registry in the SQLite metastore."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from medalist.errors import NotFound
from medalist.metastore import connect, iso, metastore_path, now
from medalist.runlog import Alert, ConcurrentUpdate, RunRecord, Status, bounded

_JSON_FIELDS = ("rule_counts", "error", "history", "outputs", "warnings")
_COMMITTED = "json_extract({t}.outputs, '$.Transform') IS NOT NULL"
_COMPACTED = "json_extract({t}.outputs, '$.Compact') IS NOT NULL"  # a committed compaction


class _NotClaimed(Exception):
    pass


_FIELDS = tuple(RunRecord.model_fields)


class SqliteRunLog:
    """Runs and the file registry, in <lake>/_medalist/metastore.sqlite."""

    def __init__(self, lake: Path) -> None:
        self.con = connect(metastore_path(lake))
        # One connection, shared with the runner's heartbeat thread: one user at a time.
        self._mutex = threading.RLock()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            self.con.execute("BEGIN IMMEDIATE")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._mutex:
            return self.con.execute(sql, args).fetchall()

    def claim(self, run: RunRecord) -> RunRecord | None:
        claimed = bounded(run).model_copy(update={"version": 1})
        row = _to_row(claimed)
        try:
            with self._transaction() as con:
                if run.replaces:
                    moved = con.execute(
                        "UPDATE files SET run_id = ? WHERE dataset = ? AND file = ? "
                        "AND file_hash = ? AND run_id = ?",
                        (run.run_id, run.dataset, run.file, run.file_hash, run.replaces),
                    )
                    if moved.rowcount != 1:
                        raise _NotClaimed
                else:
                    con.execute(
                        "INSERT INTO files (dataset, file, file_hash, run_id) VALUES (?, ?, ?, ?)",
                        (run.dataset, run.file, run.file_hash, run.run_id),
                    )
                marks = ", ".join("?" * len(row))
                con.execute(
                    f"INSERT INTO runs ({', '.join(row)}) VALUES ({marks})", tuple(row.values())
                )
        except (sqlite3.IntegrityError, _NotClaimed):
            return None
        return claimed

    def claimed_by(self, dataset: str, file: str, file_hash: str) -> RunRecord | None:
        rows = self._query(
            "SELECT run_id FROM files WHERE dataset = ? AND file = ? AND file_hash = ?",
            (dataset, file, file_hash),
        )
        return self.get(rows[0]["run_id"]) if rows else None

    def last_runs(self, dataset: str, files: Collection[str]) -> dict[str, RunRecord]:
        """One query for a dataset's listing: its per-file lookups each scanned the dataset's
        runs, so a year of daily files cost 365 scans of 365 rows a `medalist run`."""
        wanted = set(files)
        rows = self._query(
            "SELECT r.* FROM runs r JOIN (SELECT max(run_id) AS newest FROM runs "
            "WHERE dataset = ? GROUP BY file) m ON r.run_id = m.newest",
            (dataset,),
        )
        return {row["file"]: _from_row(row) for row in rows if row["file"] in wanted}

    def last_run(self, dataset: str, file: str) -> RunRecord | None:
        rows = self._query(
            "SELECT * FROM runs WHERE dataset = ? AND file = ? ORDER BY run_id DESC LIMIT 1",
            (dataset, file),
        )
        return _from_row(rows[0]) if rows else None

    def update(
        self,
        run: RunRecord,
        heads: Mapping[str, str] | None = None,
        alerts: Sequence[Alert] = (),
    ) -> RunRecord:
        (new,) = self.update_many([run], heads, alerts)
        return new

    def update_many(
        self,
        runs: Sequence[RunRecord],
        heads: Mapping[str, str] | None = None,
        alerts: Sequence[Alert] = (),
    ) -> list[RunRecord]:
        """`update` of several runs of one pipeline in one transaction: all, or none (a batch's
        commit, medalist/batching.py)."""
        stored = [bounded(run).model_copy(update={"version": run.version + 1}) for run in runs]
        with self._transaction() as con:
            for run, new in zip(runs, stored, strict=True):
                row = _to_row(new)
                sets = ", ".join(f"{k} = ?" for k in row)
                cur = con.execute(
                    f"UPDATE runs SET {sets} WHERE run_id = ? AND version = ?",
                    (*row.values(), run.run_id, run.version),
                )
                if cur.rowcount != 1:
                    raise ConcurrentUpdate(f"run {run.run_id} changed since version {run.version}")
            for name, version in (heads or {}).items():
                con.execute(
                    "INSERT INTO heads (pipeline, name, version) VALUES (?, ?, ?) "
                    "ON CONFLICT (pipeline, name) DO UPDATE SET version = excluded.version",
                    (runs[0].pipeline, name, version),
                )
            for alert in alerts:
                con.execute(
                    "INSERT OR IGNORE INTO outbox (key, pipeline, channel, run_id, message, "
                    "created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        alert.key,
                        alert.pipeline,
                        alert.channel,
                        alert.run_id,
                        json.dumps(alert.message, default=str),
                        iso(alert.created_at),
                        iso(alert.next_at or alert.created_at),
                    ),
                )
        return stored

    def batch_capacity(self, alerts_per_run: int) -> int:
        """How many runs one `update_many` commits: SQLite sets no bound of its own."""
        return sys.maxsize

    def due_alerts(self, at: datetime, limit: int = 100) -> list[Alert]:
        rows = self._query(
            "SELECT * FROM outbox WHERE delivered_at IS NULL AND next_at <= ? "
            "ORDER BY created_at, key LIMIT ?",
            (iso(at), limit),
        )
        return [_alert(r) for r in rows]

    def take_alert(self, key: str, owner: str, until: datetime) -> bool:
        with self._mutex:
            cur = self.con.execute(
                "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE key = ? AND "
                "delivered_at IS NULL AND (lease_until IS NULL OR lease_until < ?)",
                (owner, iso(until), key, iso(now())),
            )
        return cur.rowcount == 1

    def alert_sent(self, key: str, at: datetime) -> None:
        with self._mutex:
            self.con.execute(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, lease_owner = NULL, "
                "lease_until = NULL, last_error = NULL WHERE key = ?",
                (iso(at), key),
            )

    def alert_failed(self, key: str, error: str, next_at: datetime) -> None:
        with self._mutex:
            self.con.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_at = ?, "
                "lease_owner = NULL, lease_until = NULL WHERE key = ?",
                (error, iso(next_at), key),
            )

    def undelivered(self) -> list[Alert]:
        rows = self._query(
            "SELECT * FROM outbox WHERE delivered_at IS NULL ORDER BY created_at, key"
        )
        return [_alert(r) for r in rows]

    def renew(self, run_id: str, owner: str, until: datetime) -> bool:
        with self._mutex:
            cur = self.con.execute(
                "UPDATE runs SET lease_expires_at = ? "
                "WHERE run_id = ? AND lease_owner = ? AND status = 'RUNNING'",
                (iso(until), run_id, owner),
            )
        return cur.rowcount == 1

    def heads(self, pipeline: str) -> dict[str, str]:
        rows = self._query("SELECT name, version FROM heads WHERE pipeline = ?", (pipeline,))
        return {r["name"]: r["version"] for r in rows}

    def live_runs(self, dataset: str) -> set[str]:
        rows = self._query(
            "SELECT run_id FROM runs AS r WHERE dataset = ? AND ("
            + _COMMITTED.format(t="r")
            + " OR "
            + _COMPACTED.format(t="r")
            + ") AND NOT EXISTS (SELECT 1 FROM runs AS n WHERE n.replaces = r.run_id AND "
            + _COMMITTED.format(t="n")
            + ")",
            (dataset,),
        )
        return {r["run_id"] for r in rows} - self.compacted_runs(dataset)

    def compacted_runs(self, dataset: str) -> set[str]:
        """Runs (and earlier compactions) whose silver a committed compaction holds now
        (medalist/compaction.py)."""
        rows = self._query(
            "SELECT json_extract(outputs, '$.Compact.members') AS members FROM runs "
            "WHERE dataset = ? AND " + _COMPACTED.format(t="runs"),
            (dataset,),
        )
        return {m for r in rows for m in json.loads(r["members"])}

    def replaced_runs(self, dataset: str) -> set[str]:
        rows = self._query(
            "SELECT replaces FROM runs WHERE replaces IS NOT NULL AND dataset = ?", (dataset,)
        )
        # what a compaction absorbed is swept like what a replay replaced
        return {r["replaces"] for r in rows} | self.compacted_runs(dataset)

    def lock(self, name: str, owner: str, until: datetime, *, replacing: str | None = None) -> bool:
        with self._mutex:
            cur = self.con.execute(
                "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                "expires_at = excluded.expires_at "
                "WHERE locks.owner IN (excluded.owner, ?) OR locks.expires_at < ?",
                (name, owner, iso(until), replacing, iso(now())),
            )
        return cur.rowcount == 1

    def lock_holder(self, name: str) -> tuple[str, datetime] | None:
        rows = self._query("SELECT owner, expires_at FROM locks WHERE name = ?", (name,))
        if not rows:
            return None
        return rows[0]["owner"], datetime.fromisoformat(rows[0]["expires_at"])

    def unlock(self, name: str, owner: str) -> None:
        with self._mutex:
            self.con.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))

    def get(self, run_id: str) -> RunRecord:
        rows = self._query(
            "SELECT * FROM runs WHERE run_id LIKE ? ESCAPE '\\' ORDER BY run_id LIMIT 2",
            (re.sub(r"([%_\\])", r"\\\1", run_id.upper()) + "%",),
        )
        if len(rows) != 1:
            why = "no run" if not rows else "more than one run"
            raise NotFound(f"{why} has an id starting with {run_id!r}", fix="See `medalist runs`.")
        return _from_row(rows[0])

    def list(
        self, *, dataset: str | None = None, status: Status | None = None, limit: int | None = 50
    ) -> list[RunRecord]:
        where, args = [], []
        if dataset:
            where.append("dataset = ?")
            args.append(dataset)
        if status:
            where.append("status = ?")
            args.append(str(status))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(
            f"SELECT * FROM runs {clause} ORDER BY started_at DESC, run_id DESC LIMIT ?",
            (*args, -1 if limit is None else limit),
        )
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


def _alert(row: sqlite3.Row) -> Alert:
    def moment(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return Alert(
        key=row["key"],
        pipeline=row["pipeline"],
        channel=row["channel"],
        run_id=row["run_id"],
        message=json.loads(row["message"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        attempts=row["attempts"],
        next_at=moment(row["next_at"]),
        last_error=row["last_error"],
        delivered_at=moment(row["delivered_at"]),
    )
