"""PostgreSQL's binary COPY format, written from Arrow batches a column at a time.

A row is its field count (2 bytes) then each field: its length (4 bytes, -1 for NULL) and the
value in network byte order (PostgreSQL manual, COPY, "Binary Format"). Each column becomes
one Arrow array of whole fields, computed with NumPy over the column's buffers, so no value is
ever a Python object; the columns are then joined element-wise, and the joined array's data
buffer is the batch's part of the COPY stream.

Why not a driver's encoder: the only one we can install (ADBC's) is built without compiler
optimisation and encodes on one core at a third of this speed (docs/decisions/0011).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
TRAILER = b"\xff\xff"  # a field count of -1

_NULL = pa.scalar(b"\xff\xff\xff\xff", pa.large_binary())
_EMPTY = pa.scalar(b"", pa.large_binary())
_PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL counts from 2000-01-01, Arrow from 1970
_PG_EPOCH_DAYS = 10_957
_NBASE = 10_000  # numeric digits are base 10000, in groups aligned on the decimal point
_NUMERIC_NEG = 0x4000


def encode(batch: pa.RecordBatch) -> pa.Buffer:
    """The batch's rows in binary COPY format (without the stream's HEADER and TRAILER).
    Every column must already have the Arrow type of its target column (`supported`)."""
    n = batch.num_rows
    if n == 0:
        return pa.py_buffer(b"")
    fields = [_binary(np.full(n, batch.num_columns, dtype=">i2"))]
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        try:
            fields.append(field(column))
        except TypeError as exc:
            raise TypeError(f"column {name}: {exc}") from None
    rows = pc.binary_join_element_wise(*fields, _EMPTY)
    offsets = np.frombuffer(rows.buffers()[1], "<i8", count=len(rows) + 1 + rows.offset)
    start, end = offsets[rows.offset], offsets[rows.offset + len(rows)]
    return rows.buffers()[2][start:end]


def field(arr: pa.Array) -> pa.Array:
    """One column as whole COPY fields: large_binary, one element per row, never null."""
    kind = arr.type
    for test, make in _ENCODERS:
        if test(kind):
            return make(arr)
    raise TypeError(f"binary COPY of Arrow type {kind} is not supported")


def supported(kind: pa.DataType) -> bool:
    return any(test(kind) for test, _ in _ENCODERS)


def _binary(values: np.ndarray) -> pa.Array:
    """Each element of a NumPy array (any fixed-width dtype) as its bytes, in large_binary."""
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(values.dtype.itemsize), len(values), [None, pa.py_buffer(values)]
    )
    return fixed.cast(pa.large_binary())


def _fields(values: np.ndarray, arr: pa.Array | None) -> pa.Array:
    """Fixed-width values (already in network order) behind their 4-byte length; NULL where
    `arr` is null."""
    rec = np.empty(len(values), dtype=[("length", ">i4"), ("value", values.dtype)])
    rec["length"] = values.dtype.itemsize
    rec["value"] = values
    return _with_nulls(_binary(rec), arr)


def _with_nulls(fields: pa.Array, arr: pa.Array | None) -> pa.Array:
    if arr is None or arr.null_count == 0:
        return fields
    return pc.if_else(arr.is_valid(), fields, _NULL)


def _values(arr: pa.Array, dtype: str, per_row: int = 1) -> np.ndarray:
    """The data buffer of a fixed-width array as NumPy (no copy), nulls included as garbage."""
    count = (len(arr) + arr.offset) * per_row
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=count)[arr.offset * per_row :]


def _network(arr: pa.Array, little: str, shift: int = 0) -> pa.Array:
    values = _values(arr, little)
    if shift:
        values = values - shift
    return _fields(values.astype(">" + little[1:]), arr)


def _bool(arr: pa.Array) -> pa.Array:
    return _network(arr.cast(pa.int8()), "<i1")


def _timestamp(arr: pa.Array) -> pa.Array:
    kind = arr.type
    micros = arr.cast(pa.timestamp("us", kind.tz)) if kind.unit != "us" else arr
    return _network(micros, "<i8", _PG_EPOCH_US)


def _time(arr: pa.Array) -> pa.Array:
    micros = arr.cast(pa.time64("us")) if arr.type != pa.time64("us") else arr
    return _network(micros, "<i8")


def _interval(arr: pa.Array) -> pa.Array:
    """PostgreSQL's interval: microseconds (8 bytes), days (4), months (4)."""
    rec = np.zeros(len(arr), dtype=[("us", ">i8"), ("days", ">i4"), ("months", ">i4")])
    if pa.types.is_duration(arr.type):
        rec["us"] = _values(arr.cast(pa.duration("us")), "<i8")
    else:  # month_day_nano: months (4 bytes), days (4), nanoseconds (8)
        mdn = np.dtype([("months", "<i4"), ("days", "<i4"), ("ns", "<i8")])
        parts = np.frombuffer(arr.buffers()[1], dtype=mdn, count=len(arr) + arr.offset)
        parts = parts[arr.offset :]
        ns = parts["ns"]
        rec["us"] = np.where(ns < 0, -(-ns // 1000), ns // 1000)  # truncate toward zero
        rec["days"], rec["months"] = parts["days"], parts["months"]
    return _fields(rec.view(np.dtype((np.void, 16))), arr)


def _bytes(arr: pa.Array) -> pa.Array:
    """Text and bytea: the length, then the bytes as they are (UTF-8 for text)."""
    data = arr.cast(pa.large_binary())
    prefix = _binary(_values(pc.binary_length(data).fill_null(0), "<i8").astype(">i4"))
    joined = pc.binary_join_element_wise(prefix, data.fill_null(b""), _EMPTY)
    return _with_nulls(joined, arr)


def _decimal(arr: pa.Array) -> pa.Array:
    """PostgreSQL's numeric: digit count, weight, sign, display scale (2 bytes each), then
    base-10000 digits, most significant first. We send a fixed number of digits per column,
    leading and trailing zero groups included; the server strips them (numeric_recv)."""
    kind = arr.type
    precision, scale = kind.precision, kind.scale
    whole = -(-(precision - scale) // 4)  # groups before the decimal point
    fraction = -(-scale // 4)  # groups after it
    digits = whole + fraction
    negative, groups = _unscaled_groups(arr, -(-precision // 4))
    aligned = _align(groups, 4 * fraction - scale, digits)
    rec = np.empty(
        len(arr),
        dtype=[
            ("ndigits", ">i2"),
            ("weight", ">i2"),
            ("sign", ">u2"),
            ("dscale", ">i2"),
            ("digits", ">i2", (digits,)),
        ],
    )
    rec["ndigits"] = digits
    rec["weight"] = whole - 1
    rec["sign"] = np.where(negative, _NUMERIC_NEG, 0)
    rec["dscale"] = scale
    for i, group in enumerate(aligned):  # least significant first
        rec["digits"][:, digits - 1 - i] = group
    return _fields(rec.view(np.dtype((np.void, rec.dtype.itemsize))), arr)


def _unscaled_groups(arr: pa.Array, count: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(is negative, base-10000 digits of |unscaled value|, least significant first).
    decimal128 is 16 little-endian bytes of two's complement; up to 18 digits it fits in the
    low 8 bytes, beyond that it is divided as four 32-bit limbs."""
    halves = _values(arr, "<u8", per_row=2).reshape(-1, 2)
    low, high = halves[:, 0], halves[:, 1]
    negative = (high >> np.uint64(63)).astype(bool)
    if arr.type.precision <= 18:
        value = np.abs(low.view("<i8"))
        groups = []
        for _ in range(count):
            value, digit = np.divmod(value, _NBASE)
            groups.append(digit)
        return negative, groups
    # |value| as a 128-bit number: negate the two's complement where negative
    neg_low = ~low + np.uint64(1)
    neg_high = ~high + (neg_low == 0).astype(np.uint64)
    low, high = np.where(negative, neg_low, low), np.where(negative, neg_high, high)
    mask = np.uint64(0xFFFFFFFF)
    limbs = [high >> np.uint64(32), high & mask, low >> np.uint64(32), low & mask]
    groups = []
    for _ in range(count):  # long division by 10000, most significant limb first
        rest = np.zeros(len(low), dtype=np.uint64)
        for i, limb in enumerate(limbs):
            current = (rest << np.uint64(32)) | limb
            limbs[i], rest = np.divmod(current, np.uint64(_NBASE))
        groups.append(rest.astype(np.int64))
    return negative, groups


def _align(groups: list[np.ndarray], shift: int, count: int) -> list[np.ndarray]:
    """The digits of value * 10**shift (shift 0-3), so that groups meet at the decimal point."""
    factor, carry, out = 10**shift, 0, []
    for i in range(count):
        current = (groups[i] * factor if i < len(groups) else 0) + carry
        carry, digit = np.divmod(current, _NBASE)
        out.append(digit)
    return out


_ENCODERS: list[tuple[Callable[[pa.DataType], bool], Callable[[pa.Array], pa.Array]]] = [
    (pa.types.is_boolean, _bool),
    (pa.types.is_int16, lambda a: _network(a, "<i2")),
    (pa.types.is_int32, lambda a: _network(a, "<i4")),
    (pa.types.is_int64, lambda a: _network(a, "<i8")),
    (pa.types.is_float32, lambda a: _network(a, "<f4")),
    (pa.types.is_float64, lambda a: _network(a, "<f8")),
    (lambda t: pa.types.is_decimal128(t) and 0 <= t.scale <= t.precision, _decimal),
    (pa.types.is_date32, lambda a: _network(a, "<i4", _PG_EPOCH_DAYS)),
    (pa.types.is_timestamp, _timestamp),
    (lambda t: pa.types.is_time32(t) or pa.types.is_time64(t), _time),
    (lambda t: pa.types.is_duration(t) or t == pa.month_day_nano_interval(), _interval),
    (
        lambda t: (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_string_view(t)
            or pa.types.is_binary(t)
            or pa.types.is_large_binary(t)
        ),
        _bytes,
    ),
]
