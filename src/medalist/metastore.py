"""The local metastore: one SQLite file holding the run log, the file registry and the catalog.

WAL mode and a busy timeout let several `medalist run` processes share it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, dataset TEXT NOT NULL, file TEXT NOT NULL,
    file_hash TEXT NOT NULL, file_bytes INTEGER NOT NULL, status TEXT NOT NULL, state TEXT,
    started_at TEXT NOT NULL, ended_at TEXT, duration_s REAL,
    rows_in INTEGER, rows_silver INTEGER, rows_quarantined INTEGER, rows_loaded INTEGER,
    rule_counts TEXT NOT NULL DEFAULT '{}', error TEXT, history TEXT NOT NULL DEFAULT '[]',
    outputs TEXT NOT NULL DEFAULT '{}',
    version INTEGER NOT NULL, lease_owner TEXT, lease_expires_at TEXT, replaces TEXT,
    file_mtime REAL, history_dropped INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_by_dataset ON runs (dataset, started_at);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, started_at);
CREATE TABLE IF NOT EXISTS files (
    dataset TEXT NOT NULL, file TEXT NOT NULL, file_hash TEXT NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (dataset, file, file_hash)
);
CREATE INDEX IF NOT EXISTS runs_by_replaces ON runs (replaces);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS heads (
    pipeline TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
    PRIMARY KEY (pipeline, name)
);
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY, pipeline TEXT NOT NULL, channel TEXT NOT NULL, run_id TEXT NOT NULL,
    message TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL, last_error TEXT, lease_owner TEXT, lease_until TEXT,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, next_at);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, sql TEXT NOT NULL,
    at TEXT NOT NULL, rows INTEGER, seconds REAL, error TEXT
);
CREATE TABLE IF NOT EXISTS catalog (
    dataset TEXT NOT NULL, version INTEGER NOT NULL, columns TEXT NOT NULL, diff TEXT NOT NULL,
    file TEXT, run_id TEXT, created_at TEXT NOT NULL,
    PRIMARY KEY (dataset, version)
);
"""


def metastore_path(lake: Path) -> Path:
    return lake / "_medalist" / "metastore.sqlite"


def connect(path: Path) -> sqlite3.Connection:
    """Open (and create) the metastore. Autocommit; callers open transactions explicitly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL can meet a busy file
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    _migrate(con)
    con.executescript(SCHEMA)
    return con


def _migrate(con: sqlite3.Connection) -> None:
    """Bring a metastore written by an older medalist up to SCHEMA."""
    columns = {row["name"] for row in con.execute("PRAGMA table_info(runs)")}
    for name, kind in (
        ("replaces", "TEXT"),
        ("file_mtime", "REAL"),
        ("history_dropped", "INTEGER NOT NULL DEFAULT 0"),
        ("warnings", "TEXT NOT NULL DEFAULT '[]'"),
    ):
        if not columns or name in columns:
            continue
        try:
            con.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        except sqlite3.OperationalError as exc:  # another process migrated it first
            if "duplicate column" not in str(exc):
                raise


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment else None
