"""`medalist extract SOURCE`: tables of a database into landing as Parquet (the DMS part).

One run per table, in the run log like any run (file `extract:<source>/<table>`, state
`Extract`), alerting like any run. Rows stream from the database in Arrow batches into Parquet
files staged through the Storage port; each file is published whole, and the high-water mark
moves with it (mark.py, docs/decisions/0024-extract-high-water-mark.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ulid import ULID

from medalist.config import Pipeline, SourceSpec, SourceTable
from medalist.errors import ConfigError, MedalistError, TransientError, as_medalist_error
from medalist.integration.land import would_read
from medalist.integration.mark import (
    Mark,
    Resume,
    describe,
    key_text,
    resume_from,
    same_value,
    to_mark,
)
from medalist.integration.readers import SourceDb
from medalist.integration.sink import open_staged
from medalist.leases import LEASE, new_owner
from medalist.metastore import now
from medalist.notify import route, run_message
from medalist.notify.outbox import deliver_due
from medalist.runlog import RunRecord, Status, Transition
from medalist.workflow.context import Ports

STATE = "Extract"
Progress = Callable[[str, int], None]  # (source.table, rows so far)


def run_file(source: str, table: str) -> str:
    """The run log's `file` of an extract: not a path in landing, so no trigger claims it."""
    return f"extract:{source}/{table}"


def landed_path(dataset: str, source: str, table: str, run_id: str, seq: int) -> str:
    """Run ids sort by time, so files land (and are run) in extract order."""
    return f"{dataset}/{source}.{table}.{run_id}.{seq:04d}.parquet"


def source_spec(pipeline: Pipeline, name: str) -> SourceSpec:
    if name not in pipeline.sources:
        known = ", ".join(pipeline.sources) or "none"
        raise ConfigError(
            f"no source {name!r} in sources (declared: {known})",
            fix="Add it under sources: in pipeline.yaml, or pick a declared one.",
        )
    return pipeline.sources[name]


def check_targets(pipeline: Pipeline, source: str) -> None:
    """Each table's dataset exists and takes the Parquet files extract writes."""
    problems = []
    for table, spec in source_spec(pipeline, source).tables.items():
        key = f"sources.{source}.tables.{table}.dataset"
        dataset = pipeline.datasets.get(spec.dataset)
        if dataset is None:
            problems.append(f"{key}: no dataset {spec.dataset!r}; declare it under datasets")
            continue
        sample = landed_path(spec.dataset, source, table, "RUN", 1)
        if not would_read(dataset.source, sample) or dataset.format not in (
            None,
            "parquet",
        ):
            problems.append(
                f"{key}: dataset {spec.dataset} reads {dataset.source!r}"
                f"{f' as {dataset.format}' if dataset.format else ''}, which does not take "
                f"the Parquet files extract lands ({sample}); set its source to "
                f"{spec.dataset}/*.parquet (or {spec.dataset}/* for any format)"
            )
    if problems:
        raise ConfigError("; ".join(problems))


def extract(
    pipeline: Pipeline,
    ports: Ports,
    source: str,
    tables: list[str] | None = None,
    on_progress: Progress | None = None,
) -> list[RunRecord]:
    """Extract the source's tables (or the named ones), one run each; then send the alerts."""
    spec = source_spec(pipeline, source)
    check_targets(pipeline, source)
    for name in tables or []:
        if name not in spec.tables:
            raise ConfigError(
                f"source {source} has no table {name!r} (declared: {', '.join(spec.tables)})"
            )
    runs = []
    for name in tables or list(spec.tables):
        runs.append(_extract_table(pipeline, ports, source, name, on_progress))
    deliver_due(ports.outbox, ports.notifiers)
    return runs


def _extract_table(
    pipeline: Pipeline, ports: Ports, source: str, table: str, on_progress: Progress | None
) -> RunRecord:
    owner, lock = new_owner(), f"extract:{source}.{table}"
    _take_lock(ports, lock, owner)
    try:
        spec = pipeline.sources[source].tables[table]
        resume = _resume(ports, spec.dataset, run_file(source, table))
        return _Extract(pipeline, ports, source, table, owner, lock, resume, on_progress).go()
    finally:
        ports.runlog.unlock(lock, owner)


def _take_lock(ports: Ports, lock: str, owner: str) -> None:
    """One extract of a table at a time: two would both start from the same mark."""
    if ports.runlog.lock(lock, owner, now() + LEASE):
        return
    holder = ports.runlog.lock_holder(lock)
    if (
        holder
        and ports.liveness.gone(*holder)
        and ports.runlog.lock(lock, owner, now() + LEASE, replacing=holder[0])
    ):
        return
    raise TransientError(
        f"another extract of {lock.removeprefix('extract:')} is running"
        f"{f' ({holder[0]})' if holder else ''}",
        fix="Wait for it to finish; a dead one's lock expires within two minutes.",
    )


def _resume(ports: Ports, dataset: str, file: str) -> Resume:
    """The mark to start from, settling what the table's previous extract left behind."""
    prev = ports.runlog.last_run(dataset, file)
    if prev is None:
        return Resume(None)
    out = dict(prev.outputs.get(STATE, {}))
    pending = out.get("pending")
    published = pending is not None and ports.storage.stat("landing", pending["path"]) is not None
    resume = resume_from(out, published)
    if resume.staged:
        ports.storage.unstage("landing", resume.staged, prev.run_id)
    if prev.status == Status.RUNNING or pending is not None:  # it died: close its record
        files = [*out.get("files", []), *([resume.adopted] if resume.adopted else [])]
        out.update(mark=resume.mark, files=files, pending=None, writing=None)
        at = now()
        ended: dict[str, Any] = {
            "outputs": {**prev.outputs, STATE: out},
            "status": Status.FAILED if prev.status == Status.RUNNING else prev.status,
            "ended_at": prev.ended_at or at,
        }
        if prev.status == Status.RUNNING:
            ended["error"] = {
                "state": STATE,
                "kind": "transient",
                "message": "the extract was interrupted; the next one resumed after "
                f"its last published file ({describe(resume.mark)})",
            }
            step = Transition(state=STATE, status=Status.FAILED, at=at, detail="interrupted")
            ended["history"] = [*prev.history, step]
        ports.runlog.update(prev.model_copy(update=ended))
    return resume


@dataclass
class _OpenFile:
    path: str
    stream: IO[bytes]
    writer: pq.ParquetWriter
    rows: int = 0
    last: Any = None  # the cursor value of the last row written (an Arrow scalar)
    last_keys: list[str] = field(default_factory=list)  # key_text of the rows sharing it


def parquet_options(schema: pa.Schema, cursor: str | None = None) -> dict[str, Any]:
    """Dictionary encoding for text columns only: numbers and times (ids, amounts, cursor
    values) rarely repeat within a page, and encoding them twice halved the writer's speed
    for nothing (5M rows: 1.6 s of CPU less, the file ~5% larger). Min/max statistics for the
    cursor column only: a file's cursor range is worth stating, the other columns' were a
    fifth of the writer's CPU that nothing reads (the runs scan landed files whole; decision
    0041)."""
    text = [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    stats: list[str] | bool = [cursor] if cursor is not None and cursor in schema.names else False
    return {"use_dictionary": text, "compression": "snappy", "write_statistics": stats}


@dataclass
class _Extract:
    """One table's extract run: stream, cut into files, publish each with its mark."""

    pipeline: Pipeline
    ports: Ports
    source: str
    table: str
    owner: str
    lock: str
    resume: Resume
    on_progress: Progress | None
    out: dict[str, Any] = field(default_factory=dict)
    run: RunRecord | None = None
    file: _OpenFile | None = None
    locked_at: float = field(default_factory=time.monotonic)
    key: list[str] | None = None  # the dataset's primary key: what identifies a landed row
    skip: set[str] | None = None  # keys landed at the mark, dropped when read again

    @property
    def spec(self) -> SourceTable:
        return self.pipeline.sources[self.source].tables[self.table]

    def go(self) -> RunRecord:
        db = SourceDb(self.pipeline.sources[self.source].url)
        cursor = self.spec.cursor if self.spec.extract_mode == "incremental" else None
        self.out = {
            "source": db.shown,
            "table": self.spec.table or self.table,
            "mode": self.spec.extract_mode,
            "cursor": cursor,
            "from": self.resume.mark,
            "mark": self.resume.mark,
            "files": [],
            "rows": 0,
            "bytes": 0,
            "pending": None,
            "writing": None,
        }
        self.key = self.pipeline.datasets[self.spec.dataset].primary_key or None
        mark = self.resume.mark
        self.skip = set(mark["keys"]) if mark and mark.get("keys") is not None else None
        self.run = self._claim()
        try:
            sql = db.query(self.spec.table or self.table, cursor, self.resume.mark)
            for batch in db.stream(sql, cursor):
                for part in self._unseen(batch, cursor):
                    self._take(part, cursor)
            if self.file is not None:
                self._publish(cursor)
        except BaseException as exc:
            self._abandon()
            if not isinstance(exc, Exception):
                raise
            return self._finish(as_medalist_error(exc, STATE))
        return self._finish(None)

    def _claim(self) -> RunRecord:
        run_id = str(ULID())
        record = RunRecord(
            run_id=run_id,
            pipeline=self.pipeline.name,
            dataset=self.spec.dataset,
            file=run_file(self.source, self.table),
            file_hash=run_id,  # never a landed file's hash: nothing else claims it
            file_bytes=0,
            state=STATE,
            started_at=now(),
            outputs={STATE: self.out},
            history=[Transition(state=STATE, status=Status.RUNNING, at=now())],
        )
        claimed = self.ports.runlog.claim(record)
        assert claimed is not None  # the file_hash is the new run's own id
        return claimed

    def _save(self, **fields: Any) -> None:
        assert self.run is not None
        self.run = self.ports.runlog.update(
            self.run.model_copy(update={"outputs": {STATE: dict(self.out)}, **fields})
        )

    def _unseen(self, batch: pa.RecordBatch, cursor: str | None) -> list[pa.RecordBatch]:
        """The batch less the rows at the mark's value that an earlier extract landed (read
        again by `cursor >= mark` so that rows committed later with that value are not lost)."""
        if self.skip is None or cursor is None or not batch.num_rows:
            return [batch]
        first = batch.column(cursor)[0]
        if not same_value(to_mark(first.as_py()), self.resume.mark):
            self.skip = None  # past the mark: nothing more to drop
            return [batch]
        n = _ties(batch, cursor, first)
        head = batch.slice(0, n)
        keep = [key_text(list(r.values())) not in self.skip for r in self._keys(head)]
        if n < batch.num_rows:
            self.skip = None
        return [head.filter(pa.array(keep, pa.bool_())), batch.slice(n)]

    def _keys(self, batch: pa.RecordBatch) -> list[dict[str, Any]]:
        assert self.key is not None
        missing = [k for k in self.key if k not in batch.schema.names]
        if missing:
            raise ConfigError(
                f"the table has no column {missing[0]!r} of dataset {self.spec.dataset}'s "
                "primary key",
                fix="Fix primary_key in pipeline.yaml, or select the column in the source.",
            )
        return batch.select(self.key).to_pylist()

    def _take(self, batch: pa.RecordBatch, cursor: str | None) -> None:
        """Append a batch, cutting files only between distinct cursor values: rows sharing
        the value at the cut stay in the file that the mark then covers."""
        while batch.num_rows:
            if self.file is None:
                self.file = self._open(batch.schema)
            room = self.spec.rows_per_file - self.file.rows
            if room > 0:
                self._write(batch.slice(0, room), cursor)
                batch = batch.slice(min(room, batch.num_rows))
                continue
            ties = _ties(batch, cursor, self.file.last)
            self._write(batch.slice(0, ties), cursor)
            batch = batch.slice(ties)
            if batch.num_rows:
                self._publish(cursor)

    def _write(self, batch: pa.RecordBatch, cursor: str | None) -> None:
        if not batch.num_rows:
            return
        assert self.file is not None
        self.file.writer.write_batch(batch)
        self.file.rows += batch.num_rows
        if cursor is not None:
            last = batch.column(cursor)[batch.num_rows - 1]
            keys = []
            if self.key is not None:
                ties = batch.filter(pc.equal(batch.column(cursor), last))
                keys = [key_text(list(r.values())) for r in self._keys(ties)]
            same = self.file.last is not None and self.file.last.equals(last)
            self.file.last_keys = [*self.file.last_keys, *keys] if same else keys
            self.file.last = last
        if self.on_progress:
            self.on_progress(f"{self.source}.{self.table}", self.out["rows"] + self.file.rows)
        self._renew()

    def _open(self, schema: pa.Schema) -> _OpenFile:
        assert self.run is not None
        seq = len(self.out["files"]) + 1
        path = landed_path(self.spec.dataset, self.source, self.table, self.run.run_id, seq)
        self.out["writing"] = path
        self._save()
        stream = open_staged(self.ports.storage, "landing", path, self.run.run_id)
        options = parquet_options(schema, self.out["cursor"])
        return _OpenFile(path, stream, pq.ParquetWriter(stream, schema, **options))

    def _publish(self, cursor: str | None) -> None:
        """Close the file, record it as pending, publish it, then move the mark."""
        assert self.file is not None and self.run is not None
        f, self.file = self.file, None
        f.writer.close()
        f.stream.close()
        mark = to_mark(f.last.as_py()) if cursor is not None else self.out["mark"]
        if cursor is not None and mark is not None and self.key is not None:
            before = self.out["mark"]  # a file of late rows at the old mark adds to its keys
            earlier = before["keys"] if same_value(mark, before) and before else []
            mark["keys"] = [*earlier, *f.last_keys]
        self.out["pending"] = {"path": f.path, "mark": mark, "rows": f.rows}
        self._save()
        self.ports.storage.publish("landing", f.path, self.run.run_id)
        landed = self.ports.storage.stat("landing", f.path)
        self.out.update(
            mark=mark,
            files=[*self.out["files"], f.path],
            rows=self.out["rows"] + f.rows,
            bytes=self.out["bytes"] + (landed.size if landed else 0),
            pending=None,
            writing=None,
        )
        self._save(rows_in=self.out["rows"], file_bytes=self.out["bytes"])

    def _abandon(self) -> None:
        """A failed extract drops its unpublished file; the mark stays where it was."""
        if self.file is None or self.run is None:
            return
        f, self.file = self.file, None
        try:
            f.writer.close()
            f.stream.close()
        finally:
            self.ports.storage.unstage("landing", f.path, self.run.run_id)
        self.out["writing"] = None

    def _renew(self) -> None:
        """Keep the table's lock while a long extract runs."""
        if time.monotonic() - self.locked_at > LEASE.total_seconds() / 6:
            if not self.ports.runlog.lock(self.lock, self.owner, now() + LEASE):
                raise TransientError(  # presumed dead and replaced: the other one goes on
                    f"lost the lock of {self.lock} to another extract",
                    fix="Run the extract again; it resumes from the last published file.",
                )
            self.locked_at = time.monotonic()

    def _finish(self, err: MedalistError | None) -> RunRecord:
        assert self.run is not None
        ended = now()
        status = Status.FAILED if err else Status.SUCCEEDED
        detail = str(err) if err else _summary(self.out)
        final = self.run.model_copy(
            update={
                "outputs": {STATE: dict(self.out)},
                "status": status,
                "ended_at": ended,
                "duration_s": round((ended - self.run.started_at).total_seconds(), 3),
                "rows_in": self.out["rows"],
                "file_bytes": self.out["bytes"],
                "error": err.to_dict() if err else None,
                "history": [
                    *self.run.history,
                    Transition(state=STATE, status=status, at=ended, detail=detail),
                ],
            }
        )
        message = run_message(final, self.pipeline.dashboard_url)
        alerts = route(self.pipeline, final, message)
        self.run = self.ports.runlog.update(final, alerts=alerts)
        return self.run


def _ties(batch: pa.RecordBatch, cursor: str | None, last: Any) -> int:
    """How many leading rows of a batch (in cursor order) share the value `last`."""
    if cursor is None or last is None:
        return 0
    return int(pc.sum(pc.equal(batch.column(cursor), last)).as_py() or 0)


def _summary(out: dict[str, Any]) -> str:
    files = len(out["files"])
    text = f"{out['rows']} rows in {files} file{'s' if files != 1 else ''}"
    if out["mode"] == "incremental":
        text += f", {describe(out['from'])} → {describe(out['mark'])}"
    return text


def summary(run: RunRecord) -> str:
    """One line for the CLI about a finished extract run."""
    out = run.outputs.get(STATE, {})
    if run.status == Status.FAILED:
        return f"FAIL {run.file}: {(run.error or {}).get('message')}"
    return f"SUCCESS {run.file} → landing/{run.dataset}/: {_summary(out)} in {run.duration_s}s"


def mark_of(run: RunRecord) -> Mark:
    return run.outputs.get(STATE, {}).get("mark")
