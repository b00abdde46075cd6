"""Extract's PostgreSQL reader (COPY to CSV, parsed by Arrow) against connectorx, the reader it
replaced: for every type it takes, the same Arrow types and the same values, so landed Parquet
files keep their schema; any other type still goes through connectorx."""

from __future__ import annotations

import time

import psycopg
import pyarrow as pa

from medalist.integration.copyout import open_copy
from medalist.integration.readers import SourceDb, pumped

COLUMNS = (
    "id int8, i2 int2, i4 int4, f4 float4, f8 float8, price numeric(12,2), "
    "plain numeric, wide numeric(30,14), note text, code varchar(20), tag char(3), "
    "u uuid, day date, at time, ts timestamp, tz timestamptz, ok bool"
)
ROWS = [  # quotes, commas, newlines, '' beside NULL, rounding past 10 decimals, extremes
    "(1, -32768, 2147483647, 0.1, 1e-300, -9999999999.99, 1.12345678905, "
    "-1.00000000005, 'a \"quoted\", text\nover two lines', '', 'ab', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1999-12-31', '23:59:59.999999', "
    "'2026-11-24 08:00:00.000001', '2026-11-24 08:00:00+02', true)",
    "(2, NULL, NULL, 'NaN', '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, false)",
    "(3, 7, 8, 3.4028235e38, 2.5, 0.01, 123456789012345678.5, 0, 'ünïcødé ,\"', 'x,y', 'abc', "
    "NULL, '2026-02-28', '00:00', '1970-01-01 00:00:00', '1969-12-31 23:59:59.5+00', NULL)",
]


def _read(db: SourceDb, sql: str, copy: bool) -> pa.Table:
    batches = db._copy(sql, "id") if copy else db._connectorx(sql, 2)
    assert batches is not None
    return pa.Table.from_batches(list(batches))


def test_the_copy_reader_gives_what_connectorx_gave_for_every_type_it_takes(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"CREATE TABLE t ({COLUMNS})")
        con.execute(f"INSERT INTO t VALUES {', '.join(ROWS)}")
    db, sql = SourceDb(pg_url), "SELECT * FROM t ORDER BY id"
    ours, theirs = _read(db, sql, copy=True), _read(db, sql, copy=False)
    assert ours.schema == theirs.schema
    for name in ours.column_names:
        mine, cx = ours.column(name).to_pylist(), theirs.column(name).to_pylist()
        if name == "f4":  # NaN is never equal to itself
            mine, cx = repr(mine), repr(cx)
        assert mine == cx, name


def test_a_type_the_copy_reader_does_not_parse_goes_to_connectorx(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("CREATE TABLE t (id int8, doc jsonb, raw bytea)")
        con.execute("""INSERT INTO t VALUES (1, '{"a": 1}', '\\x0102')""")
    assert open_copy(pg_url, "SELECT * FROM t") is None
    rows = pa.Table.from_batches(list(SourceDb(pg_url).stream("SELECT * FROM t"))).to_pylist()
    assert rows == [{"id": 1, "doc": '{"a":1}', "raw": b"\x01\x02"}]


def test_a_reader_left_early_ends_its_copy_and_its_connection(pg_url: str) -> None:
    """An extract that fails midway (a lost lock, a full disk) stops reading: the COPY must
    not go on holding a server backend."""
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("CREATE TABLE t AS SELECT g AS id, repeat('x', 100) AS pad "
                    "FROM generate_series(1, 20000) g")  # fmt: skip
    copy = open_copy(pg_url, "SELECT * FROM t ORDER BY id")
    assert copy is not None
    chunks = pumped(lambda offer: copy.run(offer, chunk_bytes=4096), depth=1)
    assert next(chunks).startswith(b"1,")
    chunks.close()
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as con:
        for _ in range(50):
            others = con.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid()",
                [database],
            ).fetchone()
            if others == (0,):
                return
            time.sleep(0.1)
    raise AssertionError(f"the COPY's connection is still open: {others}")
