"""A destination that fails on purpose, so failure paths are tested without mocks.

    dummy://?fail=2                 the first 2 loads raise DestinationUnavailable (transient)
    dummy://?fail=always&kind=terminal   every load raises TerminalError

Counts live on the class, keyed by URL, because each run opens its own destination.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa

from medalist.config import LoadMode
from medalist.destination import TableRef
from medalist.errors import DestinationUnavailable, TerminalError


class DummyDestination:
    attempts: ClassVar[Counter[str]] = Counter()
    loaded: ClassVar[Counter[str]] = Counter()

    def __init__(self, url: str) -> None:
        self.url = url
        query = parse_qs(urlsplit(url).query)
        self.fail = query.get("fail", ["0"])[0]
        self.kind = query.get("kind", ["transient"])[0]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    def load(
        self,
        table: TableRef,
        data: pa.RecordBatchReader,
        mode: LoadMode,
        primary_key: Sequence[str],
        run_id: str,
        constants: Mapping[str, object] | None = None,
        reread: Callable[[], pa.RecordBatchReader] | None = None,
    ) -> int:
        type(self).attempts[self.url] += 1
        if self.fail == "always" or type(self).attempts[self.url] <= int(self.fail):
            error = DestinationUnavailable if self.kind == "transient" else TerminalError
            raise error(f"dummy destination refused load #{type(self).attempts[self.url]}")
        rows = sum(batch.num_rows for batch in data)
        type(self).loaded[str(table)] += rows
        return rows

    def close(self) -> None:
        pass
