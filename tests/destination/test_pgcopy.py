"""Our binary COPY encoder against PostgreSQL itself: every Arrow type it takes, with NULLs,
extremes and awkward values, must come back from the server exactly as sent."""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal, localcontext

import psycopg
import pyarrow as pa
import pytest

from medalist.destination.pgcopy import HEADER, TRAILER, encode, supported


def _round_trip(url: str, pg_type: str, values: pa.Array, *, as_text: bool = False) -> list:
    """COPY `values` into a one-column table of `pg_type` (in two batches, one sliced, to
    cover array offsets) and read them back in order."""
    batch = pa.record_batch({"v": values})
    half = len(values) // 2
    with psycopg.connect(url) as con:
        con.execute(f"CREATE TABLE t (i serial, v {pg_type})")
        with con.cursor().copy("COPY t (v) FROM STDIN (FORMAT binary)") as copy:
            copy.write(HEADER)
            copy.write(encode(batch.slice(0, half)))
            copy.write(encode(batch.slice(half)))
            copy.write(TRAILER)
        column = "v::text" if as_text else "v"
        return [row[0] for row in con.execute(f"SELECT {column} FROM t ORDER BY i")]


CASES = [
    ("boolean", pa.array([True, False, None])),
    ("smallint", pa.array([-32768, 0, None, 32767], pa.int16())),
    ("integer", pa.array([-(2**31), 7, None, 2**31 - 1], pa.int32())),
    ("bigint", pa.array([-(2**63), -1, None, 2**63 - 1], pa.int64())),
    ("real", pa.array([1.5, -0.0, None, 3.4e38], pa.float32())),
    ("double precision", pa.array([1e-300, -2.5, None, 1.7976931348623157e308])),
    ("text", pa.array(["", None, "ünïcødé ✓", "a\tb\nc\\d", "x" * 100_000])),
    ("text", pa.array(["short", None, "ok"], pa.large_string())),
    ("text", pa.array(["view", None, "strings"], pa.string_view())),
    ("bytea", pa.array([b"\x00\xff", None, b""], pa.binary())),
    ("date", pa.array([dt.date(1, 1, 1), dt.date(1999, 12, 31), None, dt.date(9999, 12, 31)])),
    (
        "timestamp",
        pa.array(
            [dt.datetime(1969, 7, 20, 20, 17, 40, 1), None, dt.datetime(2026, 12, 2, 7, 46, 28)],
            pa.timestamp("us"),
        ),
    ),
    ("timestamp", pa.array([0, None, 1_700_000_000_123], pa.timestamp("ms"))),
    ("time", pa.array([dt.time(0, 0), None, dt.time(23, 59, 59, 999999)], pa.time64("us"))),
]


@pytest.mark.parametrize(("pg_type", "values"), CASES, ids=[f"{c[0]}-{c[1].type}" for c in CASES])
def test_values_arrive_exactly(pg_url: str, pg_type: str, values: pa.Array) -> None:
    got = _round_trip(pg_url, pg_type, values)
    expected = values.to_pylist()
    if pg_type == "real":  # float4 comes back widened to a Python float
        assert got == [None if v is None else pytest.approx(v, rel=1e-7) for v in expected]
    else:
        assert got == expected


def test_zoned_timestamps_keep_the_instant(pg_url: str) -> None:
    moments = pa.array([0, None, 1_764_661_588_000_001], pa.timestamp("us", tz="Europe/Paris"))
    got = _round_trip(pg_url, "timestamptz", moments)
    assert got == moments.cast(pa.timestamp("us", tz="UTC")).to_pylist()


def test_floats_nan_and_infinities(pg_url: str) -> None:
    got = _round_trip(pg_url, "double precision", pa.array([math.nan, math.inf, -math.inf]))
    assert math.isnan(got[0]) and got[1:] == [math.inf, -math.inf]


def test_durations(pg_url: str) -> None:
    durations = pa.array([dt.timedelta(days=-3, microseconds=5), None], pa.duration("us"))
    assert _round_trip(pg_url, "interval", durations) == durations.to_pylist()


def test_calendar_intervals(pg_url: str) -> None:
    mixed = pa.array([pa.MonthDayNano([14, -2, 3_000_999]), None], pa.month_day_nano_interval())
    assert _round_trip(pg_url, "interval", mixed, as_text=True) == [
        "1 year 2 mons -2 days +00:00:00.003",
        None,
    ]


def _decimals(precision: int, scale: int, count: int = 200) -> list[Decimal | None]:
    with localcontext(prec=80):  # the default context rounds to 28 digits
        return _random_decimals(precision, scale, count)


def _random_decimals(precision: int, scale: int, count: int) -> list[Decimal | None]:
    rng = random.Random(precision * 100 + scale)
    top = 10**precision - 1
    values: list[Decimal | None] = [Decimal(0), None]
    for unscaled in (top, -top, 1, -1, 10**scale - 1, -(10**scale) + 1, 10**scale):
        if abs(unscaled) <= top:
            values.append(Decimal(unscaled).scaleb(-scale))
    for _ in range(count):
        digits = rng.randint(1, precision)
        unscaled = rng.randint(-(10**digits) + 1, 10**digits - 1)
        values.append(Decimal(unscaled).scaleb(-scale))
    return values


DECIMALS = [(1, 0), (4, 4), (5, 2), (12, 2), (18, 0), (18, 9), (18, 18), (19, 3), (38, 0),
            (38, 10), (38, 38), (20, 0), (25, 7)]  # fmt: skip


@pytest.mark.parametrize(("precision", "scale"), DECIMALS, ids=[f"{p}.{s}" for p, s in DECIMALS])
def test_decimals_of_every_width(pg_url: str, precision: int, scale: int) -> None:
    values = _decimals(precision, scale)
    arrow = pa.array(values, pa.decimal128(precision, scale))
    got = _round_trip(pg_url, f"numeric({precision},{scale})", arrow)
    assert got == values


def test_numeric_keeps_its_display_scale(pg_url: str) -> None:
    amounts = pa.array([Decimal("1.50"), Decimal("-0.05"), Decimal("120")], pa.decimal128(7, 2))
    assert _round_trip(pg_url, "numeric", amounts, as_text=True) == ["1.50", "-0.05", "120.00"]


def test_a_type_it_cannot_carry_is_named(pg_url: str) -> None:
    assert not supported(pa.list_(pa.int32()))
    batch = pa.record_batch({"tags": pa.array([[1, 2]], pa.list_(pa.int32()))})
    with pytest.raises(TypeError, match="column tags: binary COPY of Arrow type list"):
        encode(batch)
