"""`make bench`, Spark section: medalist on Spark (engine: spark, local[2]) against the Spark
floor (PySpark reads the CSV and writes Parquet, psql's \\copy loads the CSV), at 5M and 20M
rows. JVM start-up (SparkSession creation) is timed apart; peak RSS is the kernel's high-water
mark (VmHWM) of the Python driver and of the JVM (driver and executors: local mode runs them
in one JVM); CPU seconds are the Python driver's, its children's (psql) and the JVM's (user +
system), so a ratio measured under load can be read beside the wall clock.

    python -m benchmarks.spark --rows 5000000,20000000 --rounds 1
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.generate import CONTRACT, GOLD_SQL, generate

MASTER = "local[2]"
CONF = {"spark.driver.memory": "2g", "spark.sql.shuffle.partitions": "8"}
CONTENDERS = {
    "spark-floor": "PySpark CSV→Parquet + psql \\copy of the CSV",
    "medalist-spark": "medalist, engine: spark: contract, quarantine, dedupe, silver, gold, load",
}


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(jvm_pid: int) -> float:
    """CPU seconds of this process, its waited-for children and the JVM (not our child's
    child once we exit, so read from /proc while it runs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    fields = Path(f"/proc/{jvm_pid}/stat").read_text().rsplit(")", 1)[1].split()
    jvm = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + jvm


def _done(spark: Any, jvm_s: float, **more: Any) -> dict[str, Any]:
    pid = _jvm_pid(spark)
    return {
        "jvm_s": jvm_s,
        "cpu_s": _cpu_s(pid),
        "jvm_mb": _hwm_mb(pid),
        "driver_mb": _hwm_mb(os.getpid()),
        **more,
    }


def _session() -> tuple[Any, float]:
    from medalist.engine.spark.session import spark_session

    started = time.monotonic()
    spark = spark_session(MASTER, CONF)
    spark.range(1).count()  # the JVM and an executor are up
    return spark, time.monotonic() - started


def _jvm_pid(spark: Any) -> int:
    return int(spark.sparkContext._gateway.proc.pid)


def floor(csv: str, url: str, workdir: str) -> dict[str, float]:
    spark, jvm_s = _session()
    out = Path(workdir) / "floor"
    spark.read.option("header", "true").option("inferSchema", "true").csv(csv).write.parquet(
        str(out)
    )
    columns = spark.read.parquet(str(out)).dtypes
    types = {"bigint": "bigint", "int": "bigint", "timestamp": "timestamp", "double": "float8"}
    defs = ", ".join(f"{name} {types.get(kind, 'text')}" for name, kind in columns)
    copy = f"\\copy sales FROM '{csv}' WITH (FORMAT csv, HEADER true)"
    for sql in (f"CREATE TABLE sales ({defs})", copy):
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True)
    return _done(spark, jvm_s)


def medalist_spark(csv: str, url: str, workdir: str) -> dict[str, float]:
    import yaml

    spark, jvm_s = _session()
    root = Path(workdir) / "medalist"
    landing = root / "lake" / "landing" / "sales"
    landing.mkdir(parents=True, exist_ok=True)
    os.link(csv, landing / Path(csv).name)
    config = {
        "name": "bench",
        "engine": "spark",
        "spark": {"master": MASTER, "conf": CONF},
        "destination": url,
        "datasets": {"sales": CONTRACT},
        "models": {"sales_by_day": {"sql": GOLD_SQL, "primary_key": ["day", "channel"]}},
        "notifications": [],
    }
    (root / "pipeline.yaml").write_text(yaml.safe_dump(config))
    from medalist.controller import run_pipeline
    from medalist.loader import load_pipeline
    from medalist.wiring import local_ports

    pipeline = load_pipeline(root / "pipeline.yaml")
    (run,) = run_pipeline(pipeline, local_ports(pipeline)).runs
    if run.status != "SUCCEEDED":
        raise SystemExit(f"medalist run failed: {run.error}")
    return _done(spark, jvm_s, states=_state_seconds(pipeline, run.run_id))


def _state_seconds(pipeline: Any, run_id: str) -> dict[str, float]:
    """Seconds from each state's start to the next transition (where the time goes)."""
    from medalist.wiring import local_ports

    history = local_ports(pipeline).runlog.get(run_id).history
    spent: dict[str, float] = {}
    for here, after in itertools.pairwise(history):
        spent[here.state] = spent.get(here.state, 0.0) + (after.at - here.at).total_seconds()
    return {state: round(s, 1) for state, s in spent.items()}


def measure(name: str, csv: Path, tmp: Path) -> dict[str, float]:
    """One contender in its own process (its own JVM) on a fresh database."""
    from benchmarks.child import timed
    from benchmarks.run import drop_database, fresh_database

    url = fresh_database()
    workdir = tmp / f"{name}-work"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        cmd = [sys.executable, "-W", "ignore", "-m", "benchmarks.spark", "--contender", name]
        done = timed([*cmd, str(csv), url, str(workdir)], name)
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return {"seconds": done.seconds, **found}
    finally:
        drop_database(url)
        shutil.rmtree(workdir, ignore_errors=True)


def section(sizes: list[int], rounds: int, tmp: Path) -> str:
    """The Spark section of docs/benchmarks.md (empty when PySpark is not installed)."""
    import importlib.util

    if not sizes:
        return ""
    if importlib.util.find_spec("pyspark") is None:
        return "\n## Spark\n\nNot run here: PySpark is not installed (medalist[spark]).\n"
    lines = [
        "",
        "## Spark (engine: spark)",
        "",
        f"Each contender in its own process (its own JVM) on `{MASTER}`, "
        f"{rounds} round(s), median; JVM start is SparkSession creation up to a first job, "
        "part of the total. Peak RSS: Python driver and the JVM (local mode: driver and "
        "executors in one JVM). CPU s: user + system of the driver, psql and the JVM.",
        "",
        "| rows | contender | what it does | total s | JVM start s | without JVM s | x floor | "
        "CPU s | driver MB | JVM MB |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows in sizes:
        csv = generate(rows, tmp / f"spark-{rows}" / "sales.csv")
        results: dict[str, list[dict[str, float]]] = {n: [] for n in CONTENDERS}
        for r in range(rounds):
            for name in CONTENDERS:
                found = measure(name, csv, tmp)
                results[name].append(found)
                print(f"spark round {r + 1}: {rows:,} {name} {found}", flush=True)
        medians = {n: _median(v) for n, v in results.items()}
        base = medians["spark-floor"]["seconds"] - medians["spark-floor"]["jvm_s"]
        for name, m in medians.items():
            work = m["seconds"] - m["jvm_s"]
            lines.append(
                f"| {rows:,} | {name} | {CONTENDERS[name]} | {m['seconds']:.1f} | "
                f"{m['jvm_s']:.1f} | {work:.1f} | {work / base:.2f} | {m['cpu_s']:.1f} | "
                f"{m['driver_mb']:,.0f} | {m['jvm_mb']:,.0f} |"
            )
        shutil.rmtree(csv.parent, ignore_errors=True)
    return "\n".join(lines) + "\n"


def _median(found: list[dict[str, float]]) -> dict[str, float]:
    found = sorted(found, key=lambda f: float(f["seconds"]))
    return found[len(found) // 2]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contender", choices=list(CONTENDERS))
    parser.add_argument("--rows", default="5000000,20000000")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("args", nargs="*")
    args = parser.parse_args(argv)
    if args.contender:
        run = floor if args.contender == "spark-floor" else medalist_spark
        print(json.dumps(run(*args.args)))
        return
    with tempfile.TemporaryDirectory(prefix="medalist-bench-spark-") as tmp:
        sizes = [int(s) for s in args.rows.split(",") if s]
        print(section(sizes, args.rounds, Path(tmp)))


if __name__ == "__main__":
    main()
