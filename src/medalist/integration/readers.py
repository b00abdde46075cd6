"""Tables out of PostgreSQL and MySQL/MariaDB as a stream of Arrow batches.

PostgreSQL through COPY to CSV parsed by Arrow (copyout.py, decision 0045); MySQL/MariaDB, and
PostgreSQL columns of a type copyout does not parse, through connectorx (Rust, an unbuffered
result set / binary COPY). No row becomes a Python object and memory stays at a few batches
whatever the table's size. The only SQL we write is the query: identifiers and the cursor
literal.
"""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa

from medalist.errors import TerminalError, TransientError
from medalist.integration.mark import Mark

BATCH_ROWS = 65_536
T = TypeVar("T")
AHEAD = 4  # batches read ahead of the writer: ~4 x 65,536 rows in memory at most


@dataclass(frozen=True)
class SourceDb:
    """One source database: its URL (scheme normalised for connectorx) and SQL dialect."""

    url: str

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url.startswith("postgres") else "mysql"

    @property
    def cx_url(self) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(scheme=self.dialect))

    @property
    def shown(self) -> str:
        """The URL without its password, for messages and the run log."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))

    def ident(self, name: str) -> str:
        """A (schema-qualified) table or column name, quoted."""
        q = '"' if self.dialect == "postgresql" else "`"
        return ".".join(f"{q}{part.replace(q, q + q)}{q}" for part in name.split("."))

    def literal(self, mark: Mark) -> str:
        assert mark is not None
        if mark["type"] in ("int", "decimal"):
            return mark["value"]
        text = mark["value"].replace("'", "''")
        if self.dialect == "mysql":
            text = text.replace("\\", "\\\\")
        return f"'{text}'"

    def query(self, table: str, cursor: str | None, after: Mark) -> str:
        """Every row (full), or the rows past the mark in cursor order (incremental)."""
        sql = f"SELECT * FROM {self.ident(table)}"
        if cursor is None:
            return sql
        col = self.ident(cursor)
        if after is None:
            cond = f"{col} IS NOT NULL"
        else:  # with the keys landed at the mark, its value again: late rows that share it
            op = ">=" if after.get("keys") is not None else ">"
            cond = f"{col} {op} {self.literal(after)}"
        return f"{sql} WHERE {cond} ORDER BY {col}"

    def reachable(self) -> None:
        """Fail fast when the server does not answer: connectorx's pool waits 30 s."""
        parts = urlsplit(self.url)
        if not parts.hostname:
            return
        port = parts.port or (5432 if self.dialect == "postgresql" else 3306)
        try:
            socket.create_connection((parts.hostname, port), timeout=5).close()
        except OSError as exc:
            raise source_error(exc, self.shown) from None

    def stream(
        self, sql: str, order: str | None = None, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """The query's rows in batches: PostgreSQL through COPY to CSV parsed by Arrow
        (copyout.py) when it knows every column's type, else through connectorx."""
        self.reachable()
        if self.dialect == "postgresql":
            copied = self._copy(sql, order)
            if copied is not None:
                return copied
        return self._connectorx(sql, batch_rows)

    def _copy(self, sql: str, order: str | None = None) -> Iterator[pa.RecordBatch] | None:
        import asyncpg
        import psycopg

        from medalist.integration.copyout import open_copy

        secret = urlsplit(self.url).password
        try:
            copy = open_copy(self.url, sql, order)
        except psycopg.Error as exc:
            raise source_error(exc, self.shown, secret) from None
        if copy is None:
            return None

        def batches() -> Iterator[pa.RecordBatch]:
            try:  # a chunk is parsed (without the GIL) while the next ones come off the wire
                for chunk in pumped(copy.run):
                    yield from copy.parse(chunk)
            except (OSError, psycopg.Error, asyncpg.PostgresError) as exc:
                raise source_error(exc, self.shown, secret) from None

        return batches()

    def _connectorx(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        import connectorx as cx

        try:
            reader = cx.read_sql(
                self.cx_url, sql, return_type="arrow_stream", batch_size=batch_rows
            )
        except Exception as exc:  # connectorx raises RuntimeError/bare Exception with the text
            raise source_error(exc, self.shown, urlsplit(self.url).password) from None
        return read_ahead(reader)


def read_ahead(reader: Iterable[T], depth: int = AHEAD) -> Iterator[T]:
    """The reader's batches, read by a thread up to `depth` batches ahead of the caller: while
    the caller writes a batch, the next ones keep coming off the socket, so the database never
    waits for us with a full send buffer (reading and writing in turn was 1.56x the psql floor;
    see docs/integration.md). An error of the reader reaches the caller at that batch; a caller
    that stops early stops the thread."""

    def produce(offer: Callable[[T], bool]) -> None:
        for item in reader:
            if not offer(item):
                return

    return pumped(produce, depth)


def pumped(produce: Callable[[Callable[[T], bool]], None], depth: int = AHEAD) -> Iterator[T]:
    """What `produce` offers, from a thread of its own, at most `depth` items ahead of the
    caller. `offer(item)` blocks while the caller is that far behind and returns False once
    the caller has stopped (produce should then return); an exception of produce is raised
    to the caller after the items offered before it."""
    items: queue.Queue[T | _Raised | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: T | _Raised | None) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            produce(offer)
            offer(None)
        except BaseException as exc:  # handed to the caller, raised there
            offer(_Raised(exc))

    thread = threading.Thread(target=pump, name="extract-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := items.get()) is not None:
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


@dataclass(frozen=True)
class _Raised:
    exc: BaseException


def source_error(exc: BaseException, where: str, secret: str | None = None) -> Exception:
    """Connection trouble is transient (retry later); a wrong table or column is not. The
    password never reaches the message (it goes to the run log and to alerts)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if secret:
        text = text.replace(secret, "***")
    lowered = text.lower()
    if isinstance(exc, OSError) or any(
        w in lowered for w in ("connection refused", "timed out", "connect", "broken pipe")
    ):
        return TransientError(
            f"cannot read the source database: {text}",
            path=where,
            fix="Check that the database is up and the URL in sources is right.",
        )
    return TerminalError(f"the source database refused the extract: {text}", path=where)
