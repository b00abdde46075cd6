"""The scale sections of docs/benchmarks.md (`make bench`): a burst of small files and a year of
daily files with compaction, each against one run of one file, with the issue's targets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks.burst import burst
from benchmarks.history import full_run, history


def sections(rows: int, tmp: Path, burst_files: int, burst_rows: int, days: int) -> list[str]:
    """Markdown lines; each part skipped when its size is 0."""
    from benchmarks.run import drop_database, fresh_database

    def url_of() -> tuple[str, Callable[[], None]]:
        url = fresh_database()
        return url, lambda: drop_database(url)

    lines: list[str] = []
    checks: list[tuple[str, str, bool]] = []
    if burst_files:
        many, one = burst(burst_files, burst_rows, tmp / "burst", url_of)
        ratio = many / one
        lines += [
            "",
            "## Bursts of small files",
            "",
            f"{burst_files:,} files of {burst_rows:,} rows landed at once, then one `medalist "
            f"run` (batched, decision 0028) to silver, gold and PostgreSQL: {many:.1f} s; one "
            f"file of the same {burst_files * burst_rows:,} rows: {one:.1f} s ({ratio:.1f} x).",
        ]
        checks.append((f"{burst_files:,}-file burst ≤ 3 x one file", f"{ratio:.1f} x", ratio <= 3))
    if days:
        url, drop = url_of()
        try:
            full = full_run(rows, tmp, url)
        finally:
            drop()
        url, drop = url_of()
        try:
            found = history(rows, days, tmp, url)
        finally:
            drop()
        share = 100 * found["increment_s"] / full
        lines += [
            "",
            "## A year of history",
            "",
            f"{days} daily files ({rows:,} rows) landed at once: {found['history_s']:.1f} s, "
            f"silver compacted per month (decision 0029) to {found['files']:.0f} files. Then a "
            f"daily file of {rows // 100:,} rows (1%): {found['increment_s']:.2f} s (median of "
            f"3 days) = {share:.1f}% of a full run of {rows:,} rows ({full:.1f} s).",
        ]
        checks.append((f"1% increment after {days} days ≤ 3%", f"{share:.1f}%", share <= 3))
    if checks:
        lines += ["", "| scale target | measured | met |", "|---|---|---|"]
        lines += [f"| {what} | {value} | {'yes' if ok else 'no'} |" for what, value, ok in checks]
    return lines
