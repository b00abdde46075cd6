"""The sections of docs/benchmarks.md that other benchmark modules measure (burst, history, the
100M-row file, the lake on S3, Spark, extract), each with the issues' targets. The measuring
stays in those modules; this turns their numbers into a page section (benchmarks/doc.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks import bigfile, s3
from benchmarks import extract as extract_bench
from benchmarks import spark as spark_bench
from benchmarks.burst import burst
from benchmarks.doc import Section, Target, paragraph
from benchmarks.history import full_runs, history


def _url_of() -> tuple[str, Callable[[], None]]:
    from benchmarks.run import url_of  # run.py imports this module

    return url_of()


@contextmanager
def _database() -> Iterator[str]:
    from benchmarks.run import scratch_database

    with scratch_database() as url:
        yield url


def burst_section(files: int, rows: int, tmp: Path) -> Section:
    many, one = burst(files, rows, tmp / "burst", _url_of)
    ratio = many / one
    text = (
        f"{files:,} files of {rows:,} rows landed at once, then one `medalist run` (batched, "
        f"decision 0028) to silver, gold and PostgreSQL: {many:.1f} s; one file of the same "
        f"{files * rows:,} rows: {one:.1f} s ({ratio:.1f} x)."
    )
    target = Target("burst", f"{files:,}-file burst ≤ 3 x one file", f"{ratio:.1f} x", ratio <= 3)
    return paragraph("burst", "## Bursts of small files", text, target)


def history_section(rows: int, days: int, tmp: Path) -> Section:
    full, full_cpu = full_runs(rows, tmp)
    with _database() as url:
        found = history(rows, days, tmp, url)
    share = 100 * found["increment_s"] / full
    cpu_share = 100 * found["increment_cpu_s"] / full_cpu
    text = (
        f"{days} daily files ({rows:,} rows) landed at once: {found['history_s']:.1f} s, "
        f"silver compacted per month (decision 0029) to {found['files']:.0f} files. Then a "
        f"daily file of {rows // 100:,} rows (1%): {found['increment_s']:.2f} s (median of "
        f"3 days) = {share:.1f}% of a full run of {rows:,} rows ({full:.1f} s, median of 3); "
        f"in CPU seconds {found['increment_cpu_s']:.2f} of {full_cpu:.1f} = {cpu_share:.1f}%."
    )
    target = Target("history", f"1% increment after {days} days ≤ 3%", f"{share:.1f}%", share <= 3)
    return paragraph("history", "## A year of history", text, target)


def bigfile_section(rows: int, base: int, tmp: Path) -> Section:
    (small, s_small, c_small, _, _), (big, s_big, c_big, rss, spill) = bigfile.run(rows, base, tmp)
    per_small, per_big = s_small / small * 1e6, s_big / big * 1e6
    growth = 100 * (per_big / per_small - 1)
    cpu_growth = 100 * ((c_big / big) / (c_small / small) - 1)
    lines = [
        "## One big file",
        "",
        f"One file of {big:,} rows end to end (`benchmarks/bigfile.py`, `make bench-scale`): "
        f"{s_big:.0f} s, {per_big:.2f} s per million rows against {per_small:.2f} at "
        f"{small:,} rows ({growth:+.0f}%; CPU seconds per million rows {cpu_growth:+.0f}%); "
        f"peak RSS {rss:,.0f} MB; DuckDB spilled {spill:,.0f} MB at most.",
    ]
    what = f"{big / 1e6:,.0f}M rows: peak RSS ≤ 1 GB, s per M rows within 15% of "
    what += f"{small / 1e6:,.0f}M"
    met = rss <= 1024 and growth <= 15
    return Section("bigfile", lines, [Target("100m", what, f"{rss:,.0f} MB, {growth:+.0f}%", met)])


def s3_section(rows: int, rounds: int, tmp: Path, csv: Path) -> Section:
    results = s3.compare(csv, rounds, tmp)
    lines = s3.section(rows, results)
    while lines and not lines[0]:
        lines.pop(0)
    peak = max(m for _, m in results["s3"])
    what = "the S3 run streams: peak RSS ≤ 1 GB"
    return Section("s3", lines, [Target("s3", what, f"{peak:,.0f} MB", peak <= s3.RSS_TARGET_MB)])


def spark_section(sizes: list[int], rounds: int, tmp: Path) -> Section:
    text = spark_bench.section(sizes, rounds, tmp)
    lines = text.strip("\n").splitlines()
    ratio = x_floor(lines, f"{max(sizes):,}", "medalist-spark")
    what = f"medalist on Spark ≤ 1.5 x Spark's floor at {max(sizes):,} rows"
    measured = "not measured" if ratio is None else f"{ratio:.2f} x (without JVM start)"
    met = None if ratio is None else ratio <= 1.5
    return Section("spark", lines, [Target("spark-20m", what, measured, met)])


def x_floor(lines: list[str], rows: str, contender: str) -> float | None:
    """The `x floor` cell of a contender's row at `rows` in a markdown table (spark.section's
    text: its measuring function keeps its signature, so the ratio is read back from it)."""
    head = next((line for line in lines if "| x floor |" in line), None)
    if head is None:
        return None
    column = [c.strip() for c in head.split("|")].index("x floor")
    for line in lines:
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > column and cells[1:3] == [rows, contender]:
            return float(cells[column])
    return None


def extract_section(rows: int, url: str, rounds: int) -> Section:
    floor, ours = extract_bench.measure(rows, url, rounds)
    lines, ratio, peak = extract_bench.report(rows, rounds, floor, ours)
    what = "extract ≤ 1.5 x psql \\copy, peak RSS ≤ 1 GB"
    met = ratio <= 1.5 and peak <= 1024
    measured = f"{ratio:.2f} x, {peak:,.0f} MB"
    return Section("extract", lines, [Target("extract", what, measured, met)])


def measure(name: str, args: argparse.Namespace, tmp: Path, csv: Callable[[], Path]) -> Section:
    """Measure section `name` with `make bench`'s arguments (`csv`: the shared CSV, made once)."""
    from benchmarks.run import SERVER

    if name == "burst":
        return burst_section(args.burst_files or 1000, 1000, tmp)
    if name == "history":
        return history_section(args.rows, args.history_days or 365, tmp)
    if name == "bigfile":
        return bigfile_section(args.big_rows, args.rows, tmp)
    if name == "s3":
        return s3_section(args.rows, args.s3_rounds or 1, tmp, csv())
    if name == "spark":
        sizes = [int(s) for s in (args.spark_rows or "5000000,20000000").split(",") if s]
        return spark_section(sizes, min(args.rounds, 2), tmp)
    if name == "extract":
        return extract_section(args.rows, SERVER, args.rounds)
    raise ValueError(f"no section {name!r}")
