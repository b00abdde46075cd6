"""A PostgreSQL query as Arrow batches through `COPY (query) TO STDOUT (FORMAT csv)`: what
`psql \\copy` does, with Arrow's CSV parser (C++, without the GIL) in place of the file.

connectorx's binary-COPY decode held the GIL for a whole batch and cost ~2.5 s more CPU than
this per 5M rows (decision 0045). asyncpg hands over the rows of a network read at once (libpq,
so psycopg, one row per call: more CPU than connectorx), and no Python runs per row. A CopyData
message holds one whole row, so every chunk handed to the parser ends at a row's end. The Arrow
types are the ones connectorx gave the same columns, so landed files keep their schema; a
column of a type we do not parse sends the query back to connectorx (`open_copy` gives None).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import psycopg
import pyarrow as pa
import pyarrow.csv as pcsv

# PostgreSQL type OID → (the Arrow type connectorx gives it, the type Arrow parses it as)
TYPES: dict[int, tuple[pa.DataType, pa.DataType]] = {
    16: (pa.bool_(), pa.bool_()),  # bool
    20: (pa.int64(), pa.int64()),  # int8
    21: (pa.int64(), pa.int64()),  # int2
    23: (pa.int64(), pa.int64()),  # int4
    700: (pa.float64(), pa.float32()),  # float4: the float32 widened, as connectorx does
    701: (pa.float64(), pa.float64()),  # float8
    25: (pa.string(), pa.string()),  # text
    1042: (pa.string(), pa.string()),  # bpchar (padded, as connectorx gives it)
    1043: (pa.string(), pa.string()),  # varchar
    2950: (pa.string(), pa.string()),  # uuid
    1082: (pa.date32(), pa.date32()),  # date
    1083: (pa.time64("us"), pa.time64("us")),  # time
    1114: (pa.timestamp("us"), pa.timestamp("us")),  # timestamp
    1184: (pa.timestamp("us", "+00:00"), pa.timestamp("us", "+00:00")),  # timestamptz (UTC)
}
NUMERIC = 1700
SCALE = 10  # connectorx lands every numeric as decimal128(38, 10), rounded half away from 0
DECIMAL = pa.decimal128(38, SCALE)
# ISO dates and times in UTC, floats that read back exactly, UTF-8: what the parser expects
SETTINGS = {"DateStyle": "ISO, YMD", "TimeZone": "UTC", "extra_float_digits": "3"}
# Bytes of CSV parsed at once (~130,000 rows of 7 columns), one parser block each: 5M rows
# cost 2.6-3.2 s of CPU read and parsed, against 3.4-4.5 s in 4 MB chunks of 1 MB blocks on
# Arrow's threads (their hand-offs cost more than they overlap on two cores)
CHUNK = 8 << 20
BLOCK = CHUNK


class _Stopped(Exception):
    """The caller stopped reading: end the COPY."""


@dataclass(frozen=True)
class Column:
    name: str
    landed: pa.DataType  # the type in the Parquet file
    parsed: pa.DataType  # the type the CSV parser makes of the text
    rounded: bool = False  # a numeric whose scale may exceed SCALE: the server rounds it


def column(name: str, oid: int, precision: int | None, scale: int | None) -> Column | None:
    if oid == NUMERIC:  # numeric(p, s) with s ≤ 10 fits as it is; any other is rounded to 10
        fits = scale is not None and precision is not None and scale <= SCALE
        return Column(name, DECIMAL, DECIMAL, rounded=not fits)
    if oid not in TYPES:
        return None
    return Column(name, *TYPES[oid])


class Copy:
    """One query's rows: CSV off the wire in chunks of whole rows, parsed into Arrow batches."""

    def __init__(self, url: str, sql: str, columns: list[Column], order: str | None = None) -> None:
        self.url, self.columns = url, columns
        if any(c.rounded for c in columns):  # the server rounds; ordered again by the
            # query's own order column, which PostgreSQL sees is sorted already: no second sort
            picks = [
                f"round(q.{_ident(c.name)}, {SCALE})" if c.rounded else f"q.{_ident(c.name)}"
                for c in columns
            ]
            again = f" ORDER BY q.{_ident(order)}" if order else ""
            sql = f"SELECT {', '.join(picks)} FROM ({sql}) AS q{again}"
        self.sql = sql
        names = [f"c{i}" for i in range(len(columns))]  # COPY sends no header: ours, unique
        text = any(pa.types.is_string(c.parsed) for c in columns)
        self.read_options = pcsv.ReadOptions(column_names=names, block_size=BLOCK)
        self.parse_options = pcsv.ParseOptions(newlines_in_values=text)
        self.convert_options = pcsv.ConvertOptions(
            column_types={n: c.parsed for n, c in zip(names, columns, strict=True)},
            null_values=[""],  # COPY's CSV writes NULL unquoted and empty, '' as ""
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        )
        self.schema = pa.schema([pa.field(c.name, c.landed) for c in columns])

    def run(self, offer: Callable[[bytes], bool], chunk_bytes: int = CHUNK) -> None:
        """Copy the rows out, offering the CSV in chunks of about `chunk_bytes` that end at a
        row's end, until the end or until `offer` says the reader stopped (asyncpg hands
        over the rows of a network read at once, psycopg one row per call: 5x its CPU)."""
        asyncio.run(self._copy(offer, chunk_bytes))

    async def _copy(self, offer: Callable[[bytes], bool], chunk_bytes: int) -> None:
        con = await asyncpg.connect(self.url, server_settings=SETTINGS)
        pending: list[bytes] = []
        size = 0

        async def take(data: bytes) -> None:  # whole CopyData messages: whole rows
            nonlocal size
            pending.append(data)
            size += len(data)
            if size >= chunk_bytes:
                chunk = b"".join(pending)
                pending.clear()
                size = 0
                if not offer(chunk):
                    raise _Stopped

        try:
            await con.copy_from_query(self.sql, output=take, format="csv")
            if pending:
                offer(b"".join(pending))
        except _Stopped:
            pass
        finally:
            con.terminate()

    def parse(self, chunk: bytes) -> list[pa.RecordBatch]:
        """Whole rows of CSV as batches of the landed schema (Arrow's threads, no GIL)."""
        table = pcsv.read_csv(
            pa.BufferReader(chunk),
            read_options=self.read_options,
            parse_options=self.parse_options,
            convert_options=self.convert_options,
        )
        columns = [  # float4 is read as float32, then widened
            a if a.type == c.landed else a.cast(c.landed)
            for a, c in zip(table.columns, self.columns, strict=True)
        ]
        return pa.Table.from_arrays(columns, schema=self.schema).to_batches()


def open_copy(url: str, sql: str, order: str | None = None) -> Copy | None:
    """Describe the query (ordered by the column `order`, if any); None if a column's type
    is not one we parse."""
    with psycopg.connect(url, autocommit=True) as con:  # asyncpg's description has no typmod
        cur = con.execute(f"SELECT * FROM ({sql}) AS q LIMIT 0")  # plans it, reads no row
        found = [column(d.name, d.type_code, d.precision, d.scale) for d in cur.description or []]
    columns = [c for c in found if c is not None]
    return Copy(url, sql, columns, order) if len(columns) == len(found) else None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
