"""How the pages write numbers, durations and moments (Jinja filters `num`, `seconds`,
`when`): thousands separated, durations in s/m/h, times in UTC to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def num(value: object) -> str:
    """1234567 -> '1,234,567'; 12.345 -> '12.3'; None -> ''."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    return f"{int(value):,}"


def seconds(value: object) -> str:
    """A duration: '0.42 s', '12.3 s', '3 m 05 s', '2 h 03 m'; None -> ''."""
    if not isinstance(value, int | float):
        return ""
    if value < 10:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    whole = round(value)
    if whole < 3600:
        return f"{whole // 60} m {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} m"


def when(value: object) -> str:
    """A moment as 'YYYY-MM-DD HH:MM:SS UTC' (ISO text or datetime); None -> ''."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def cell(value: object) -> str:
    """A table cell: lists as 'a, b', None as ''."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return str(value)


FILTERS = {"num": num, "seconds": seconds, "when": when, "cell": cell}
