"""A burst of small files (`make bench` and `python -m benchmarks.burst`): FILES files of ROWS
rows land at once, then one `medalist run` takes every one to silver, gold and PostgreSQL.
Compared with one run of a single file holding the same rows (the issue's target: ≤ 3 x).

    python -m benchmarks.burst --files 1000 --rows 1000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from benchmarks.generate import generate


def land_burst(files: int, rows: int, landing: Path) -> None:
    """`files` CSVs of `rows` rows each (distinct ids) in `landing`, generated once as one
    file and split by line (the generator is per file otherwise: seconds of set-up)."""
    landing.mkdir(parents=True, exist_ok=True)
    whole = generate(files * rows, landing.parent / "whole.csv")
    with whole.open() as source:
        header = source.readline()
        for i in range(files):
            with (landing / f"part-{i:05d}.csv").open("w") as out:
                out.write(header)
                for _ in range(rows):
                    out.write(source.readline())
    whole.unlink()


def run_lake(
    root: Path, url: str, batch: int | None = None, compact_after: int | None = None
) -> tuple[float, int]:
    """(seconds, runs) of one `medalist run` over the lake at `root` (`batch`: files per
    batch, when not the default; `compact_after`: compaction.max_files, off by default).
    The process's CPU seconds for it are in `LAST_CPU_S` (every thread: DuckDB's included)."""
    from benchmarks.contenders.medalist_run import write_config
    from medalist.controller import run_pipeline
    from medalist.loader import load_pipeline
    from medalist.wiring import local_ports

    write_config(root, url)
    config = yaml.safe_load((root / "pipeline.yaml").read_text())
    if batch is not None:
        config["batch"] = {"max_files": batch}
    if compact_after is not None:
        config["compaction"] = {"max_files": compact_after}
    (root / "pipeline.yaml").write_text(yaml.safe_dump(config))
    pipeline = load_pipeline(root / "pipeline.yaml")
    started, cpu = time.monotonic(), _cpu_s()
    with contextlib.redirect_stdout(io.StringIO()):
        outcome = run_pipeline(pipeline, local_ports(pipeline))
    seconds = time.monotonic() - started
    LAST_CPU_S[0] = _cpu_s() - cpu
    failed = [r for r in outcome.runs if r.status != "SUCCEEDED"]
    if failed:
        raise SystemExit(f"{len(failed)} run(s) failed, first: {failed[0].error}")
    return seconds, len(outcome.runs)


LAST_CPU_S = [0.0]


def _cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def burst(
    files: int,
    rows: int,
    tmp: Path,
    url_of: Callable[[], tuple[str, Callable[[], None]]],
    batch: int | None = None,
) -> tuple[float, float]:
    """(seconds for the burst, seconds for one file of the same rows), each on a fresh lake
    and database (`url_of()` makes one and returns (url, drop))."""
    out = []
    for shape in ("burst", "single"):
        root = tmp / shape
        landing = root / "lake" / "landing" / "sales"
        if shape == "burst":
            land_burst(files, rows, landing)
        else:
            generate(files * rows, landing / "sales.csv")
        url, drop = url_of()
        try:
            seconds, runs = run_lake(root, url, batch if shape == "burst" else None)
        finally:
            drop()
            shutil.rmtree(root, ignore_errors=True)
        print(
            f"{shape}: {runs} run(s), {seconds:.1f} s, {LAST_CPU_S[0]:.1f} CPU s "
            f"(load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        out.append(seconds)
    return out[0], out[1]


def main(argv: list[str] | None = None) -> None:
    from benchmarks.run import url_of

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=None, help="batch.max_files (1: no batches)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="medalist-burst-") as tmp:
        many, one = burst(args.files, args.rows, Path(tmp), url_of, args.batch)
    print(
        f"burst of {args.files} x {args.rows:,} rows: {many:.1f} s; one file: {one:.1f} s; "
        f"{many / one:.1f} x"
    )


if __name__ == "__main__":
    main()
