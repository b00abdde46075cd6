"""The benchmark harness (`make bench`): every contender loads the same CSV into its own fresh
PostgreSQL database, in its own process, several rounds interleaved (A B C A B C …); we report
the median wall time, the peak RSS the kernel measured (wait4), rows/s and the ratio to the
floor. Then medalist alone: scaling (1M, 5M, 20M rows), a daily 1% increment after 30 days of
history, and the sections of benchmarks/more_sections.py (burst, history, S3, Spark, extract).
Each section of docs/benchmarks.md is rewritten in place when measured (benchmarks/doc.py); the
page is never edited by hand.

    python -m benchmarks.run --rows 5000000 --rounds 3 --out docs/benchmarks.md
    python -m benchmarks.run --only burst,extract     # just those sections, the others kept
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from benchmarks import more_sections
from benchmarks.child import timed
from benchmarks.doc import SECTIONS, Section, Target, render, rewrite
from benchmarks.generate import generate

SERVER = os.environ.get(
    "MEDALIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# name -> (module, what it is, python packages it needs)
CONTENDERS = {
    "floor": ("floor", "DuckDB CSV→Parquet + psql \\copy of the CSV", ["duckdb"]),
    "medalist": (
        "medalist_run",
        "full run: contract, quarantine, dedupe, silver, gold, load",
        ["medalist"],
    ),
    "medalist-elt": (
        "medalist_elt",
        "the same run, its gold model run inside PostgreSQL (run_in: destination)",
        ["medalist"],
    ),
    "dlt-fast": (
        "dlt_fast",
        "dlt: Arrow table → Parquet → PostgreSQL (ADBC)",
        ["dlt", "adbc_driver_postgresql"],
    ),
    "dlt-default": ("dlt_default", "dlt: Arrow table, default loader format", ["dlt"]),
    "dlt-csv": ("dlt_csv_source", "dlt: filesystem source + read_csv", ["dlt", "pandas"]),
    "pandas": (
        "pandas_to_sql",
        "pandas read_csv + to_sql(method='multi'), 50k-row sample, extrapolated",
        ["pandas", "sqlalchemy"],
    ),
}
PANDAS_SAMPLE = 50_000


@dataclass
class Result:
    seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        return max(self.rss_mb)


def available(name: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in CONTENDERS[name][2])


def fresh_database() -> str:
    name = f"medalist_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return SERVER.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    with psycopg.connect(SERVER, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def url_of() -> tuple[str, Callable[[], None]]:
    """A fresh database and what drops it (for measurers that make one per shape)."""
    url = fresh_database()
    return url, lambda: drop_database(url)


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh database for the block, dropped after it."""
    url = fresh_database()
    try:
        yield url
    finally:
        drop_database(url)


def measure(module: str, csv: Path, workdir: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one contender in its own process, on a fresh database."""
    url = fresh_database()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        cmd = [sys.executable, "-W", "ignore", "-m", f"benchmarks.contenders.{module}"]
        done = timed([*cmd, str(csv), url, str(workdir)], module)
        return done.seconds, done.rss_mb
    finally:
        drop_database(url)
        shutil.rmtree(workdir, ignore_errors=True)


def compare(
    csv: Path, rows: int, rounds: int, names: list[str], tmp: Path, once: set[str]
) -> dict[str, Result]:
    results = {n: Result() for n in names}
    for r in range(rounds):
        for name in names:  # interleaved: A B C A B C …
            if r and name in once:
                continue
            seconds, rss = measure(CONTENDERS[name][0], csv, tmp / f"{name}-{r}")
            if name == "pandas":
                seconds *= rows / min(rows, PANDAS_SAMPLE)
            results[name].seconds.append(seconds)
            results[name].rss_mb.append(rss)
            print(f"round {r + 1}: {name} {seconds:.1f} s, {rss:,.0f} MB", flush=True)
    return results


def scaling(sizes: list[int], tmp: Path) -> list[tuple[int, float, float]]:
    out = []
    for rows in sizes:
        csv = generate(rows, tmp / f"scale-{rows}" / "sales.csv")
        seconds, rss = measure("medalist_run", csv, tmp / f"scale-{rows}-work")
        out.append((rows, seconds, rss))
        print(f"scaling: {rows:,} rows {seconds:.1f} s, {rss:,.0f} MB", flush=True)
        shutil.rmtree(csv.parent, ignore_errors=True)
    return out


def increment(rows: int, tmp: Path, days: int = 3) -> float:
    """Median seconds of a run on a 1% daily file, over `days` such days after 30 daily files
    of history (one lake, one database)."""
    from benchmarks.contenders import medalist_run

    url = fresh_database()
    work = tmp / "increment"
    try:
        daily = rows // 30
        for day in range(30):
            csv = generate(
                daily, tmp / "days" / f"day-{day:02d}.csv", first_id=day * daily, day_offset=day
            )
            with contextlib.redirect_stdout(io.StringIO()):
                medalist_run.main(str(csv), url, str(work))
        seconds = []
        first = 30 * daily
        for day in range(30, 30 + days):
            csv = generate(
                rows // 100, tmp / "days" / f"day-{day}.csv", first_id=first, day_offset=day
            )
            first += rows // 100
            started = time.monotonic()
            with contextlib.redirect_stdout(io.StringIO()):
                medalist_run.main(str(csv), url, str(work))
            seconds.append(time.monotonic() - started)
        print("increments: " + ", ".join(f"{s:.2f} s" for s in seconds), flush=True)
        return statistics.median(seconds)
    finally:
        drop_database(url)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(tmp / "days", ignore_errors=True)


def versions() -> str:
    found = []
    for module in ("duckdb", "pyarrow", "psycopg", "dlt", "pandas"):
        with contextlib.suppress(ImportError):
            found.append(f"{module} {__import__(module).__version__}")
    with psycopg.connect(SERVER) as con:
        server = con.execute("SHOW server_version").fetchone()[0]
    return f"Python {platform.python_version()}, PostgreSQL {server}, " + ", ".join(found)


def machine() -> str:
    mem = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores ({model}), {mem / 1024 / 1024:.0f} GB RAM, {platform.system()}"


def contenders_section(
    rows: int, csv_mb: float, rounds: int, once: str, results: dict[str, Result], missing: list[str]
) -> Section:
    floor = results["floor"].median_s if "floor" in results else None
    lines = [
        "## medalist against the floor, dlt and pandas",
        "",
        f"- Data: {rows:,} rows of sales CSV ({csv_mb:,.0f} MB), 10 columns, a few % missing "
        "values and bad rows (`benchmarks/generate.py`)",
        f"- Each contender in its own process on a fresh PostgreSQL database, {rounds} "
        "round(s) interleaved; median wall time, peak RSS from the kernel (wait4)"
        + (f"; {once} in the first round only (they take minutes)." if once else "."),
        "",
        "| contender | what it does | median s | rows/s | x floor | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, res in results.items():
        ratio = f"{res.median_s / floor:.2f}" if floor else "-"
        lines.append(
            f"| {name} | {CONTENDERS[name][1]} | {res.median_s:.1f} | "
            f"{rows / res.median_s:,.0f} | {ratio} | {res.peak_mb:,.0f} |"
        )
    if "pandas" in results:
        lines += [
            "",
            f"pandas ran on the first {PANDAS_SAMPLE:,} rows; its time is extrapolated "
            "linearly to the whole file.",
        ]
    if missing:
        lines += [
            "",
            "Not run here (their packages are not installed; `make bench` installs "
            "them in .venv-bench): " + ", ".join(missing) + ".",
        ]
    return Section("contenders", lines, contender_targets(results))


def contender_targets(results: dict[str, Result]) -> list[Target]:
    medalist = results.get("medalist")
    if medalist is None:
        return []
    time, rss = medalist.median_s, medalist.peak_mb
    out = []
    if "floor" in results:
        ratio = time / results["floor"].median_s
        out.append(Target("floor", "full run ≤ 1.5 x the floor", f"{ratio:.2f} x", ratio <= 1.5))
    if "dlt-fast" in results:
        fast = results["dlt-fast"].median_s
        what = "faster than dlt's fastest path"
        out.append(Target("dlt", what, f"{time:.1f} s vs {fast:.1f} s", time < fast))
    if "dlt-csv" in results:
        times = results["dlt-csv"].median_s / time
        what = "≥ 10 x faster than dlt's CSV source"
        out.append(Target("dlt-csv", what, f"{times:.0f} x", times >= 10))
    out.append(Target("rss", "peak RSS ≤ 1 GB", f"{rss:,.0f} MB", rss <= 1024))
    return out


def scaling_section(scale: list[tuple[int, float, float]]) -> Section:
    lines = ["## medalist scaling", "", "| rows | seconds | peak RSS MB |", "|---:|---:|---:|"]
    lines += [f"| {r:,} | {s:.1f} | {m:,.0f} |" for r, s, m in scale]
    targets = []
    if len(scale) > 1:
        (small, _, low), (big, _, high) = scale[0], scale[-1]
        what = f"RSS at {big:,} rows ≤ RSS at {small:,} + 10%"
        targets.append(Target("rss-20m", what, f"{low:,.0f} → {high:,.0f} MB", high <= 1.1 * low))
    return Section("scaling", lines, targets)


def increment_section(rows: int, inc: float, full: float) -> Section:
    share = 100 * inc / full
    lines = [
        "## Daily increment",
        "",
        f"After 30 daily files ({rows:,} rows of history), a daily file of "
        f"{rows // 100:,} rows (1%) took {inc:.2f} s (median of 3 days, in the process "
        f"that ran the history): {share:.1f}% of a full-history run ({full:.1f} s).",
    ]
    what = "daily 1% increment ≤ 3% of a full run"
    return Section("increment", lines, [Target("increment", what, f"{share:.1f}%", share <= 3)])


def header() -> list[str]:
    return [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m benchmarks.run`), a section at a time: "
        "`make bench SECTIONS=burst,extract` (`--only burst,extract`) re-measures those and "
        "keeps the others as they were. Each section says when, on which commit, under what "
        "load, with which versions and by which command it was measured; do not edit by hand.",
        "",
        f"- Machine: {machine()}",
        f"- Sections: {', '.join(SECTIONS)} (`bigfile` only when asked for: "
        "`--only bigfile`, it takes an hour)",
    ]


def commit() -> str:
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def stamp(started_load: float, command: str) -> str:
    at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = f"{started_load:.1f} → {os.getloadavg()[0]:.1f}"
    return (
        f"Measured {at}, commit {commit()}, load average {load} (1 min, {os.cpu_count()} "
        f"cores), `{command}`; {versions()}"
    )


class Bench:
    """What one invocation measures: the sections asked for, sharing one CSV and one
    contenders result (the increment compares with medalist's full run)."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        self._csv: Path | None = None
        self.results: dict[str, Result] = {}

    @property
    def csv(self) -> Path:
        if self._csv is None:
            self._csv = generate(self.args.rows, self.tmp / "data" / "sales.csv")
        return self._csv

    def contenders(self) -> Section:
        wanted = [n for n in self.args.contenders.split(",") if n]
        names = [n for n in wanted if available(n)]
        once = {n for n in self.args.once.split(",") if n}
        self.results = compare(self.csv, self.args.rows, self.args.rounds, names, self.tmp, once)
        missing = [n for n in wanted if n not in names]
        csv_mb = self.csv.stat().st_size / 1e6
        return contenders_section(
            self.args.rows, csv_mb, self.args.rounds, self.args.once, self.results, missing
        )

    def scaling(self) -> Section:
        return scaling_section(scaling([int(s) for s in self.args.scaling.split(",")], self.tmp))

    def increment(self) -> Section:
        full = self.results.get("medalist")
        seconds = full.median_s if full else measure("medalist_run", self.csv, self.tmp / "f")[0]
        return increment_section(self.args.rows, increment(self.args.rows, self.tmp), seconds)

    def measure(self, name: str) -> Section:
        own = {"contenders": self.contenders, "scaling": self.scaling}
        own["increment"] = self.increment
        if name in own:
            return own[name]()
        return more_sections.measure(name, self.args, self.tmp, lambda: self.csv)


def chosen(args: argparse.Namespace) -> list[str]:
    """The sections to measure: --only's, else every default one not switched off."""
    if args.only:
        names = [n for n in args.only.split(",") if n]
        unknown = [n for n in names if n not in SECTIONS]
        if unknown:
            raise SystemExit(f"no section {unknown[0]!r}; sections: {', '.join(SECTIONS)}")
        return names
    off = {
        "scaling": not args.scaling,
        "increment": not args.increment,
        "burst": not args.burst_files,
        "history": not args.history_days,
        "bigfile": True,  # an hour: only when asked for
        "s3": not args.s3_rounds,
        "spark": not args.spark_rows,
        "extract": not args.extract,
    }
    return [n for n in SECTIONS if not off.get(n, False)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help=f"comma-separated sections: {SECTIONS}")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument(
        "--scaling", default="1000000,5000000,20000000", help="medalist row counts; empty to skip"
    )
    parser.add_argument("--increment", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--burst-files", type=int, default=1000, help="0 skips the burst")
    parser.add_argument("--history-days", type=int, default=365, help="0 skips the history")
    parser.add_argument("--big-rows", type=int, default=100_000_000, help="the bigfile section")
    parser.add_argument("--s3-rounds", type=int, default=1, help="lake on S3 vs local; 0 skips")
    parser.add_argument("--extract", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument(
        "--once", default="dlt-csv,pandas", help="contenders measured in the first round only"
    )
    parser.add_argument(  # benchmarks/spark.py: medalist on Spark vs the Spark floor
        "--spark-rows", default="5000000,20000000", help="Spark section's row counts; empty to skip"
    )
    args = parser.parse_args(argv)
    names = chosen(args)
    command = " ".join(["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])])
    fresh = {}
    with tempfile.TemporaryDirectory(prefix="medalist-bench-") as tmp_name:
        bench = Bench(args, Path(tmp_name))
        for name in names:
            load = os.getloadavg()[0]
            section = bench.measure(name)
            fresh[name] = render(section, stamp(load, command))
            print(fresh[name], flush=True)
    old = args.out.read_text() if args.out.exists() else ""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(rewrite(old, header(), fresh))
    print(f"rewrote {', '.join(names)} in {args.out}")


if __name__ == "__main__":
    main()
