"""Silver files exposed as one table, latest row per key, and the key-overlap test that tells
whether an incremental gold model can append or must merge."""

from __future__ import annotations

import pyarrow as pa

from medalist.contracts.rules import ident, literal
from medalist.engine.duckdb.base import DuckDBBase
from medalist.engine.duckdb.streaming import BATCH_ROWS
from medalist.incremental import Decomposable, merge_sql


class Merging(DuckDBBase):
    """Views over many Parquet files; which keys a new file shares with earlier ones."""

    def expose(
        self,
        schema: str,
        name: str,
        urls: list[str],
        columns: dict[str, str],
        latest_by: list[str],
        order_by: str | None = None,
    ) -> None:
        target = f"{ident(schema)}.{ident(name)}"
        if not urls:
            cols = ", ".join(f"CAST(NULL AS {kind}) AS {ident(c)}" for c, kind in columns.items())
            self.con.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT {cols} WHERE false")
            return
        self.con.execute(f"CREATE OR REPLACE VIEW {target} AS {_union(urls, latest_by, order_by)}")

    def hold_latest(
        self, urls: list[str], latest_by: list[str], order_by: str | None = None
    ) -> str:
        """Read every one of `urls` now into a temporary table of this connection, and return
        the SQL giving what a view `expose`d over them would: the latest row per key, worked
        out only when a key repeats (a distinct count of the keys is a fraction of the
        window that picks the latest: 1M rows, about 0.2 s against 1.9 s)."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE held AS {_union(urls, [], None)}")
        held = "SELECT * FROM held"
        if not latest_by or len(urls) < 2:
            return held
        key = ", ".join(ident(c) for c in latest_by)
        distinct = f"({key})" if len(latest_by) > 1 else key
        ((repeats,),) = self._fetch(f"SELECT count(*) > count(DISTINCT {distinct}) FROM held")
        return _latest(held, latest_by, order_by) if repeats else held

    def scan(self, sql: str) -> pa.RecordBatchReader:
        """Stream a query's rows (e.g. what `hold_latest` returned)."""
        return self.con.sql(sql).to_arrow_reader(BATCH_ROWS)

    def keys_overlap(self, earlier: list[str], new: str | list[str], key: list[str]) -> bool:
        if not earlier:
            return False
        files = "[" + ", ".join(literal(u) for u in earlier) + "]"
        fresh = literal(new) if isinstance(new, str) else "[" + ", ".join(map(literal, new)) + "]"
        using = ", ".join(ident(k) for k in key)
        # The new file is the build side: its key range prunes the old files' row groups.
        found = self._fetch(
            f"SELECT 1 FROM read_parquet({files}, union_by_name = true) SEMI JOIN "
            f"read_parquet({fresh}) USING ({using}) LIMIT 1"
        )
        return bool(found)

    def merge_gold(
        self, plan: Decomposable, previous_url: str, incoming_sql: str, out_url: str, tag: str
    ) -> int:
        previous = f"read_parquet({literal(previous_url)})"
        types = self._columns(previous_url)
        return self.materialize(merge_sql(plan, previous, incoming_sql, types), out_url, tag)

    def _columns(self, url: str) -> dict[str, str]:
        rows = self._fetch(f"DESCRIBE SELECT * FROM read_parquet({literal(url)})")
        return {name: str(kind) for name, kind, *_ in rows}


def _union(urls: list[str], latest_by: list[str], order_by: str | None) -> str:
    """Parquet files as one relation; with `latest_by`, the latest row per key (`expose`)."""
    files = "[" + ", ".join(literal(u) for u in urls) + "]"
    body = f"SELECT * FROM read_parquet({files}, union_by_name = true)"
    if latest_by and len(urls) > 1:  # one file is deduplicated already
        return _latest(body, latest_by, order_by)
    return body


def _latest(body: str, latest_by: list[str], order_by: str | None) -> str:
    """`body`'s latest row per key: the highest `order_by`, then run, then source row."""
    key = ", ".join(ident(c) for c in latest_by)
    first = f"{ident(order_by)} DESC NULLS LAST, " if order_by else ""
    return (
        f"{body} QUALIFY row_number() OVER (PARTITION BY {key} "
        f"ORDER BY {first}_run_id DESC, _source_row DESC) = 1"
    )
