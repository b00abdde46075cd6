"""The chaos test: kill `medalist run` with SIGKILL at random moments, rerun until every run has
finished, then check silver, gold and PostgreSQL against contents computed independently from
the generated files. Exactly-once means: no row lost, none duplicated, no run stuck RUNNING.

    python -m tests.chaos.chaos --kills 50 --seed 7      (what `make chaos` runs)

Each round lands a day of orders (new orders, corrections of earlier ones, duplicates within
the file, invalid rows), starts `medalist run`, waits until its run reaches the chosen target
(just started / Crawl / Transform / Load) and kills it a random few milliseconds later.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
import psycopg
import yaml

from medalist.loader import load_pipeline
from medalist.runlog import Status
from medalist.states.lake import expose_silver
from medalist.wiring import open_ports
from tests.conftest import DAILY_SALES, ORDERS_CONTRACT

TARGETS = ("start", "Crawl", "Transform", "Load", "Compact")
MEDALIST = Path(sys.executable).with_name("medalist")
FIRST_DAY = date(2026, 1, 1)
STATUSES = tuple(ORDERS_CONTRACT["columns"]["status"]["accepted"])
Row = tuple[datetime, int, int, Decimal, str]


@dataclass
class Report:
    kills: Counter[str] = field(default_factory=Counter)
    launches: int = 0
    files: int = 0
    runs: int = 0
    rows_expected: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    stuck: int = 0
    failed: int = 0
    gold_mismatches: int = 0
    leftovers: list[str] = field(default_factory=list)  # files (and stages) left behind
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        bad = (self.lost, self.duplicated, self.wrong, self.stuck, self.failed)
        return not any(bad) and not self.gold_mismatches and not self.leftovers

    def __str__(self) -> str:
        kills = ", ".join(f"{t} {self.kills[t]}" for t in TARGETS)
        return (
            f"kills: {sum(self.kills.values())} ({kills}) in {self.launches} launches, "
            f"{self.files} files, {self.runs} runs, {self.seconds:.0f} s\n"
            f"rows expected in silver: {self.rows_expected}\n"
            f"lost: {self.lost}  duplicated: {self.duplicated}  wrong values: {self.wrong}  "
            f"stuck RUNNING: {self.stuck}  FAILED: {self.failed}  "
            f"gold rows differing: {self.gold_mismatches}  "
            f"files left behind: {len(self.leftovers)} {self.leftovers[:3]}\n"
            f"{'OK: exactly once' if self.ok else 'NOT exactly once'}"
        )


class Orders:
    """Generates one file per day and keeps the silver contents those files must produce."""

    def __init__(self, rng: random.Random, rows: int) -> None:
        self.rng, self.rows = rng, rows
        self.expected: dict[int, tuple[Row, str]] = {}  # order_id -> (values, source file)
        self.days = 0

    def next_file(self) -> tuple[str, str]:
        rng, day = self.rng, FIRST_DAY + timedelta(days=self.days)
        name = f"orders/{day.isoformat()}.csv"
        base = (self.days + 1) * 1_000_000
        self.days += 1
        lines, valid = ["order_id,order_ts,customer_id,quantity,unit_price,status"], []
        earlier = list(self.expected)
        for i in range(self.rows):
            correction = earlier and rng.random() < 0.05  # re-sends an earlier order
            order_id = rng.choice(earlier) if correction else base + i
            ts = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60))
            row: Row = (
                ts,
                rng.randrange(1, 500),
                rng.randrange(1, 9),
                Decimal(rng.randrange(100, 50_000)) / 100,
                rng.choice(STATUSES),
            )
            if order_id == base + i and rng.random() < 0.01:  # invalid: quarantined
                lines.append(f"{order_id},{ts:%Y-%m-%d %H:%M:%S},{row[1]},0,{row[3]},{row[4]}")
                continue
            lines.append(f"{order_id},{ts:%Y-%m-%d %H:%M:%S},{row[1]},{row[2]},{row[3]},{row[4]}")
            valid.append((order_id, row))
            if rng.random() < 0.005:  # sent twice in one file: the later line wins
                again = (*row[:2], row[2] + 1, *row[3:])
                lines.append(
                    f"{order_id},{ts:%Y-%m-%d %H:%M:%S},{row[1]},{again[2]},{row[3]},{row[4]}"
                )
                valid.append((order_id, again))
        for order_id, row in valid:
            self.expected[order_id] = (row, name)
        return name, "\n".join(lines) + "\n"

    def gold(self) -> dict[date, tuple[int, Decimal]]:
        days: dict[date, tuple[int, Decimal]] = {}
        for (ts, _, qty, price, _), _ in self.expected.values():
            count, revenue = days.get(ts.date(), (0, Decimal(0)))
            days[ts.date()] = (count + 1, revenue + qty * price)
        return days


def _line(order_id: int, row: Row) -> str:
    ts, customer, quantity, price, status = row
    return f"{order_id},{ts:%Y-%m-%d %H:%M:%S},{customer},{quantity},{price},{status}"


def write_project(
    root: Path,
    pg_url: str,
    *,
    load_ahead: bool,
    elt: bool = False,
    aws: str | None = None,
    compact_after: int | None = None,
) -> Path:
    config: dict[str, Any] = {
        "name": "chaos",
        # every file loads ahead (a stage in PostgreSQL during Transform), or none does
        "load_ahead_mb": 0 if load_ahead else 100_000,
        "lake": str(root / "lake"),
        "destination": pg_url,
        "datasets": {
            "orders": ORDERS_CONTRACT,  # the suite's contract; STATUSES are its accepted ones
        },
        "models": {"daily_sales": DAILY_SALES},
        "notifications": [{"type": "file"}],
        "compaction": {"max_files": compact_after},
    }
    if elt:  # the same model run inside PostgreSQL, in the Load's transaction (decision 0021)
        config["models"]["daily_sales_elt"] = {**DAILY_SALES, "run_in": "destination"}
    if aws:  # every zone in its bucket, run log in DynamoDB, catalog in Glue (tests/aws/lake.py)
        from tests.aws.lake import s3_lake_config

        del config["lake"]
        config |= s3_lake_config(aws, "buckets")
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _reached(runlog: Any, pid: int, target: str) -> bool:
    """The process `pid` holds a RUNNING run in state `target` (read through the run-log port:
    SQLite or DynamoDB alike)."""
    owner = f"{socket.gethostname()}:{pid}:"
    try:
        running = runlog.list(status=Status.RUNNING, limit=None)
    except Exception:  # the store is being created
        return False
    return any(r.state == target and (r.lease_owner or "").startswith(owner) for r in running)


def _attack(config: Path, rng: random.Random, report: Report, compacting: bool = False) -> bool:
    """Start one `medalist run`; kill it at the chosen moment. True if it was killed."""
    env = {**os.environ, "MEDALIST_CONFIG": str(config)}
    proc = subprocess.Popen(
        [str(MEDALIST), "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    report.launches += 1
    target = rng.choice(TARGETS if compacting else TARGETS[:-1])
    runlog = open_ports(load_pipeline(config)).runlog
    if target == "start":  # while importing, scanning, claiming: metastore writes
        time.sleep(rng.uniform(0.3, 0.7))
    else:
        while proc.poll() is None and not _reached(runlog, proc.pid, target):
            time.sleep(0.002)
        short = target in ("Crawl", "Compact")
        time.sleep(rng.uniform(0, 0.005 if short else 0.03))
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    report.kills[target] += 1
    return True


def _land(storage: Any, name: str, content: str) -> None:
    """A file lands whole: written beside its place, then published (as `medalist land` does)."""
    token = uuid.uuid4().hex
    staged = storage.staging_url("landing", name, token)
    if staged.startswith("s3://"):
        bucket, _, key = staged.removeprefix("s3://").partition("/")
        storage.s3.put_object(Bucket=bucket, Key=key, Body=content.encode())
    else:
        Path(staged).write_text(content)
    storage.publish("landing", name, token)


def _settle(config: Path) -> None:
    """Run until a `medalist run` finishes cleanly and finds nothing left to do (at most 5
    times: runs still RUNNING after that are counted as stuck)."""
    env = {**os.environ, "MEDALIST_CONFIG": str(config)}
    for _ in range(5):
        done = subprocess.run([str(MEDALIST), "run"], env=env, capture_output=True, text=True)
        if done.returncode == 0 and "Nothing new in landing." in done.stdout:
            return


def _check(config: Path, pg_url: str, orders: Orders, report: Report) -> None:
    pipeline = load_pipeline(config)
    ports = open_ports(pipeline)
    runs = ports.runlog.list(limit=None)
    report.runs = len(runs)
    report.stuck = sum(r.status == "RUNNING" for r in runs)
    report.failed = sum(r.status == "FAILED" for r in runs)
    report.rows_expected = len(orders.expected)
    expected = {k: (v, f) for k, (v, f) in orders.expected.items()}

    engine = ports.engine()
    try:
        expose_silver(engine, ports, pipeline)
        with engine.scan_table("silver", "orders") as reader:
            silver = reader.read_all().to_pylist()
    finally:
        engine.close()
    _compare("silver", silver, expected, report)
    # Raw silver files of live runs: each landed line at most once.
    live = ports.runlog.live_runs("orders")
    files = [
        ports.storage.url("silver", f.path)
        for f in ports.storage.find("silver", "orders/*.parquet")
        if PurePosixPath(f.path).stem in live
    ]
    with duckdb.connect() as con:
        if pipeline.lake_on_s3:
            from medalist.storage.s3 import s3_filesystem

            con.register_filesystem(s3_filesystem(pipeline.aws_target))
        ((extra,),) = con.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM read_parquet(?) "
            "GROUP BY _source_file, _source_row)",
            [files],
        ).fetchall()
        report.duplicated += int(extra)

    with psycopg.connect(pg_url) as con:
        loaded = con.execute("SELECT * FROM silver.orders").fetchall()
        columns = [d.name for d in con.execute("SELECT * FROM silver.orders LIMIT 0").description]
        golds = [
            dict(
                (day, (count, revenue))
                for day, count, revenue in con.execute(
                    f"SELECT day, orders, revenue FROM gold.{model}"
                ).fetchall()
            )
            for model in pipeline.models
        ]
        stages = con.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE nspname = '_medalist_stage' AND relkind = 'r'"
        ).fetchall()
    _compare("postgres", [dict(zip(columns, row, strict=True)) for row in loaded], expected, report)
    head = ports.runlog.heads("chaos")["gold"]
    report.leftovers = _left_behind(pipeline, ports, live | {head}) + [
        f"postgres:_medalist_stage.{name}" for (name,) in stages
    ]
    want = orders.gold()
    for gold in golds:
        report.gold_mismatches += sum(gold.get(d) != v for d, v in want.items()) + len(
            set(gold) - set(want)
        )


def _left_behind(pipeline: Any, ports: Any, keep: set[str]) -> list[str]:
    """Published files no live run (or the gold head) owns, and staged ones, in any zone."""
    left = [
        f"{zone}/{f.path}"
        for zone in ("silver", "quarantine", "gold")
        for f in ports.storage.find(zone, "**/*")
        # _athena/: the manifests Glue tables read (decision 0018), not a run's output
        if PurePosixPath(f.path).stem not in keep and not f.path.startswith("_athena/")
    ]
    if not pipeline.lake_on_s3:
        lake = pipeline.lake_path
        return left + [
            str(p.relative_to(lake))
            for zone in ("silver", "quarantine", "gold")
            for p in (lake / zone).rglob(".staging/*")
            if p.is_file()
        ]
    from tests.aws.lake import staged_left

    return left + staged_left(ports.storage)


def _compare(
    where: str, rows: list[dict[str, Any]], expected: dict[int, tuple[Row, str]], report: Report
) -> None:
    seen = Counter(r["order_id"] for r in rows)
    report.duplicated += sum(n - 1 for n in seen.values())
    report.lost += len(set(expected) - set(seen))
    for r in rows:
        values = (r["order_ts"], r["customer_id"], r["quantity"], r["unit_price"], r["status"])
        if expected.get(r["order_id"]) != (values, r["_source_file"]):
            report.wrong += 1


def chaos(
    workdir: Path,
    pg_url: str,
    *,
    seed: int,
    kills: int,
    rows: int = 3000,
    load_ahead: bool = True,
    elt: bool = False,
    aws: str | None = None,
    burst: int = 1,
    compact_after: int | None = None,
) -> Report:
    """`aws`: an AWS endpoint (a moto server in a process of its own, which outlives every
    kill) to put the zones, run log and catalog on; default a local lake. `burst`: files
    landed at once per round (their rows split between them), so runs are batched.
    `compact_after`: compaction.max_files (runs compact silver, and are killed doing it)."""
    rng, report, started = random.Random(seed), Report(), time.monotonic()
    load_ahead = load_ahead and burst == 1  # a file that loads ahead runs alone, unbatched
    config = write_project(
        workdir, pg_url, load_ahead=load_ahead, elt=elt, aws=aws, compact_after=compact_after
    )
    orders = Orders(rng, max(1, rows // burst))
    storage = open_ports(load_pipeline(config)).storage
    fresh = True
    while sum(report.kills.values()) < kills:
        if fresh:  # the last process finished its work: give the next one new days
            for _ in range(burst):
                name, content = orders.next_file()
                _land(storage, name, content)
                report.files += 1
        fresh = not _attack(config, rng, report, compact_after is not None)
    _settle(config)
    _check(config, pg_url, orders, report)
    report.seconds = time.monotonic() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--rows", type=int, default=3000, help="rows per daily file")
    parser.add_argument(
        "--burst", type=int, default=1, help="files landed at once per round (batched runs)"
    )
    parser.add_argument(
        "--compact-after",
        type=int,
        default=None,
        help="compaction.max_files: runs compact silver past it (and are killed compacting)",
    )
    parser.add_argument(
        "--load-ahead",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stage each file in PostgreSQL during Transform (load_ahead_mb: 0)",
    )
    parser.add_argument(
        "--elt",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also run the gold model inside PostgreSQL (run_in: destination) and check it",
    )
    parser.add_argument(
        "--aws",
        action="store_true",
        help="zones in S3, run log in DynamoDB, catalog in Glue, on a local moto server",
    )
    args = parser.parse_args()
    server = os.environ.get(
        "MEDALIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    db = f"medalist_chaos_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{db}"')
    try:
        with tempfile.TemporaryDirectory(prefix="medalist-chaos-") as tmp, ExitStack() as stack:
            endpoint = None
            if args.aws:
                from tests.aws.emulator import moto_server, use_fake_credentials

                use_fake_credentials()
                endpoint = stack.enter_context(moto_server())
            ahead = (
                "loading ahead"
                if args.load_ahead and args.burst == 1
                else "loading after Transform"
            )
            where = "on AWS (moto)" if args.aws else "on a local lake"
            print(
                f"seed {args.seed}, {args.kills} kills, {args.rows} rows per round in "
                f"{args.burst} file(s), {ahead}, {where}"
            )
            report = chaos(
                Path(tmp),
                server.rsplit("/", 1)[0] + f"/{db}",
                seed=args.seed,
                kills=args.kills,
                rows=args.rows,
                load_ahead=args.load_ahead,
                elt=args.elt,
                aws=endpoint,
                burst=args.burst,
                compact_after=args.compact_after,
            )
    finally:
        with psycopg.connect(server, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print(report)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
