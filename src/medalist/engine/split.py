"""The one-pass stream of a landed file, split as it goes (decision 0012).

The engine's one-pass query yields the file's rows typed and checked, in file order. Here each
batch gets its rows' place in the file (`_source_row`), its broken rows are set aside in a
Parquet file for quarantine, and the rest flows on to be written as silver; a tap, when given,
receives silver's rows too (with the run's lineage), on a thread of its own. Only Arrow
batches move: no row is ever a Python object.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

SOURCE_ROW = "_source_row"
BAD = "_bad"
_END = object()


class SplitStream:
    """Numbers, splits and taps the batches of `source` (a reader over the one-pass query,
    which has a boolean `_bad` column). Read `good()` to the end, then call `finish()`."""

    def __init__(
        self,
        source: pa.RecordBatchReader,
        broken_path: Path,
        silver_columns: list[str],
        lineage: Mapping[str, pa.Scalar],
        key: str | None = None,
        tap: Callable[[pa.RecordBatchReader], Any] | None = None,
    ) -> None:
        self.source, self.broken_path = source, broken_path
        self.silver_columns, self.lineage, self.key = silver_columns, lineage, key
        self.rows = 0  # rows read (the file's rows that could be split into fields)
        self.broken = 0
        self._keys = RisingKeys() if key is not None else None
        self._writer: Any = None  # pyarrow.parquet.ParquetWriter, made at the first broken row
        self._tap = TapThread(tap, self._silver_schema()) if tap else None

    @property
    def keys_increase(self) -> bool:
        """Every key of silver's rows greater than the one before (so none repeats)."""
        return self._keys is not None and self._keys.rising

    @property
    def schema(self) -> pa.Schema:
        return self.source.schema.append(pa.field(SOURCE_ROW, pa.int64()))

    def rows_reader(self) -> pa.RecordBatchReader:
        """Every row (broken ones included, flagged `_bad`) with its `_source_row`."""
        return pa.RecordBatchReader.from_batches(self.schema, self._numbered())

    def close_broken(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def finish(self) -> bool:
        """Wait for the tap: True when it took every row and returned without an error."""
        self.close_broken()
        tap, self._tap = self._tap, None
        return tap.join() if tap else False

    def abandon(self) -> None:
        """The stream failed or its silver was rewritten: stop the tap (if it still reads)
        and wait for it; what it kept is not silver."""
        self.close_broken()
        tap, self._tap = self._tap, None
        if tap:
            tap.fail(RuntimeError("silver was not written as streamed"))
            tap.join()

    def _numbered(self) -> Iterator[pa.RecordBatch]:
        counting: pa.Array | None = None
        for batch in self.source:
            n = batch.num_rows
            if counting is None or len(counting) < n:
                counting = pa.array(range(n), pa.int64())
            numbered = batch.append_column(SOURCE_ROW, pc.add(counting.slice(0, n), self.rows + 1))
            self.rows += n
            bad = numbered.column(BAD)
            broken = pc.any(bad).as_py()
            if broken:
                self._set_aside(numbered.filter(bad))
            if self._tap:  # silver's rows, whole
                good = numbered.filter(pc.invert(bad)) if broken else numbered
                self._tap.put(self._silver(good))
            if self._keys is not None and self._keys.rising and self.key is not None:
                keys = numbered.column(self.key)  # the key column alone
                self._keys.see(keys.filter(pc.invert(bad)) if broken else keys)
            yield numbered
        if self._tap:
            self._tap.end()

    def _set_aside(self, broken: pa.RecordBatch) -> None:
        if self._writer is None:
            import pyarrow.parquet as pq  # only files with broken rows pay for the import

            self._writer = pq.ParquetWriter(self.broken_path, broken.schema)
        self._writer.write_batch(broken)
        self.broken += broken.num_rows

    def _silver_schema(self) -> pa.Schema:
        typed = [self.source.schema.field(c) for c in self.silver_columns]
        lineage = [pa.field(name, value.type) for name, value in self.lineage.items()]
        return pa.schema([*typed, *lineage, pa.field(SOURCE_ROW, pa.int64())])

    def _silver(self, good: pa.RecordBatch) -> pa.RecordBatch:
        n = good.num_rows
        columns = [good.column(c) for c in self.silver_columns]
        columns += [pa.repeat(value, n) for value in self.lineage.values()]
        columns.append(good.column(SOURCE_ROW))
        return pa.RecordBatch.from_arrays(columns, schema=self._silver_schema())


class RisingKeys:
    """Whether the key of silver's rows only ever increases, batch after batch (the usual
    export order): then no key repeats and the engine need not look for repeated keys."""

    def __init__(self) -> None:
        self.rising = True
        self._last: pa.Scalar | None = None

    def see(self, keys: pa.Array | pa.ChunkedArray) -> None:
        """The next keys, in file order."""
        if not self.rising or len(keys) == 0:
            return
        try:
            rising = keys.null_count == 0 and (
                len(keys) == 1
                or pc.all(pc.less(keys.slice(0, len(keys) - 1), keys.slice(1))).as_py()
            )
            if rising and self._last is not None:
                rising = pc.less(self._last, keys[0]).as_py()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # a type without order
            rising = False
        self.rising = bool(rising)
        self._last = keys[len(keys) - 1]


class TapThread:
    """Runs the tap on its own thread over a bounded queue of batches: it keeps pace with the
    stream (at most `depth` batches behind), and once it fails or returns, the stream goes on
    without it."""

    def __init__(
        self, tap: Callable[[pa.RecordBatchReader], Any], schema: pa.Schema, depth: int = 3
    ) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._gone = threading.Event()
        self._ok = False
        self._schema = schema
        self._thread = threading.Thread(target=self._run, args=(tap,), name="medalist-tap")
        self._thread.start()

    def put(self, item: Any) -> None:
        while not self._gone.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def fail(self, exc: BaseException) -> None:
        self.put(exc)

    def end(self) -> None:
        """No more batches: the tap's reader ends."""
        self.put(_END)

    def join(self) -> bool:
        self._thread.join()
        return self._ok

    def _run(self, tap: Callable[[pa.RecordBatchReader], Any]) -> None:
        try:
            tap(pa.RecordBatchReader.from_batches(self._schema, self._batches()))
            self._ok = True
        except BaseException:  # the tap is an optimisation: the run goes on without it
            self._ok = False
        finally:
            self._gone.set()

    def _batches(self) -> Iterator[pa.RecordBatch]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
