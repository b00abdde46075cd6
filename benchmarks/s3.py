"""The same full run with the lake on a local S3 endpoint and on local disk (`make bench`).

    python -m benchmarks.s3 --rows 5000000 --rounds 1

The endpoint is moto in server mode, in its own process (its memory is the store's, not
medalist's); the run log is a DynamoDB table on it. Each round lands the CSV in a fresh bucket
(the upload is not timed), then runs medalist in a child process — contract, quarantine,
dedupe, silver, one gold model, load into a fresh PostgreSQL database — once with the zones in
S3 and once in a local folder, interleaved. Reported: median wall time, the ratio, and the
child's peak RSS as the kernel measured it (wait4): the S3 path must stream (≤ 1 GB).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import yaml

from benchmarks.child import timed
from benchmarks.generate import CONTRACT, GOLD_SQL

REGION = "eu-west-1"
RSS_TARGET_MB = 1024
WHERE = ("local", "s3")


def config(where: str, url: str, endpoint: str, bucket: str, table: str) -> dict[str, Any]:
    """pipeline.yaml of one measured run: the benchmark's contract and gold model, the lake
    on local disk or under s3://bucket/bench with the run log in a DynamoDB table."""
    lake: dict[str, Any] = {}
    if where == "s3":
        lake = {
            "lake": f"s3://{bucket}/bench",
            "runlog": f"dynamodb://{table}",
            "aws": {"region": REGION, "endpoint_url": endpoint},
        }
    memory = os.environ.get("MEDALIST_BENCH_MEMORY")
    return {
        "name": "bench",
        **({"memory_limit": memory} if memory else {}),
        **lake,
        "destination": url,
        "datasets": {"sales": CONTRACT},
        "models": {"sales_by_day": {"sql": GOLD_SQL, "primary_key": ["day", "channel"]}},
        "notifications": [],
    }


def child(config_path: str) -> None:
    """The measured process: one run of what landed, through the ports pipeline.yaml names."""
    from medalist.controller import run_pipeline
    from medalist.loader import load_pipeline
    from medalist.wiring import open_ports

    pipeline = load_pipeline(Path(config_path))
    (run,) = run_pipeline(pipeline, open_ports(pipeline)).runs
    if run.status != "SUCCEEDED":
        raise SystemExit(f"medalist run failed: {run.error}")
    print(run.rows_loaded, run.rows_silver, run.rows_quarantined)


@contextmanager
def endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 (the test suite's: tests/aws/emulator.py), fake credentials."""
    from tests.aws.emulator import moto_server, use_fake_credentials

    use_fake_credentials()
    with moto_server() as url:
        yield url


def land(where: str, csv: Path, work: Path, endpoint_url: str, bucket: str) -> None:
    """Deliver the CSV into the landing zone (not timed): a fresh bucket, or a hard link."""
    if where == "s3":
        import boto3

        s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=REGION)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.upload_file(str(csv), bucket, f"bench/landing/sales/{csv.name}")
        return
    landing = work / "lake" / "landing" / "sales"
    landing.mkdir(parents=True, exist_ok=True)
    try:
        os.link(csv, landing / csv.name)
    except OSError:
        shutil.copyfile(csv, landing / csv.name)


def measure(where: str, csv: Path, tmp: Path, endpoint_url: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one full run in its own process, on a fresh database."""
    from benchmarks.run import drop_database, fresh_database

    tag = uuid.uuid4().hex[:10]
    work = tmp / f"{where}-{tag}"
    work.mkdir(parents=True)
    bucket, table = f"bench-{tag}", f"bench-runs-{tag}"
    url = fresh_database()
    try:
        land(where, csv, work, endpoint_url, bucket)
        path = work / "pipeline.yaml"
        path.write_text(yaml.safe_dump(config(where, url, endpoint_url, bucket, table)))
        cmd = [sys.executable, "-W", "ignore", "-m", "benchmarks.s3", "--child", str(path)]
        done = timed(cmd, f"the {where} run")
        return done.seconds, done.rss_mb
    finally:
        drop_database(url)
        shutil.rmtree(work, ignore_errors=True)
        if where == "s3":
            _drop_bucket(endpoint_url, bucket)


def _drop_bucket(endpoint_url: str, bucket: str) -> None:
    """Empty and delete a round's bucket: moto keeps objects, and the next round's must fit."""
    import boto3

    s3 = boto3.resource("s3", endpoint_url=endpoint_url, region_name=REGION)
    with _quietly():
        s3.Bucket(bucket).objects.all().delete()
        s3.Bucket(bucket).delete()


@contextmanager
def _quietly() -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # a leftover bucket costs moto memory, never the result
        print(f"(could not delete the round's bucket: {exc})", file=sys.stderr)


def compare(
    csv: Path, rounds: int, tmp: Path, endpoint_url: str | None = None
) -> dict[str, list[tuple[float, float]]]:
    """Both placements, `rounds` times, interleaved (local s3 local s3 …) on one endpoint
    (`endpoint_url`, else a moto server of its own)."""
    results: dict[str, list[tuple[float, float]]] = {w: [] for w in WHERE}
    with endpoint() if endpoint_url is None else nullcontext(endpoint_url) as url:
        for r in range(rounds):
            for where in WHERE:
                seconds, rss = measure(where, csv, tmp, url)
                results[where].append((seconds, rss))
                print(f"lake {where} round {r + 1}: {seconds:.1f} s, {rss:,.0f} MB", flush=True)
    return results


def section(rows: int, results: dict[str, list[tuple[float, float]]]) -> list[str]:
    """The markdown section of docs/benchmarks.md, with its targets."""
    median = {w: statistics.median(s for s, _ in results[w]) for w in WHERE}
    peak = {w: max(m for _, m in results[w]) for w in WHERE}
    ratio = median["s3"] / median["local"]
    met = peak["s3"] <= RSS_TARGET_MB
    return [
        "",
        "## The lake on S3",
        "",
        f"The medalist full run on {rows:,} rows with every zone on a local S3 endpoint (moto "
        "in server mode, its own process, not counted) and the run log in DynamoDB on it, "
        "against the same run on local disk; PostgreSQL destination both times "
        f"({len(results['s3'])} round(s) interleaved, median; `benchmarks/s3.py`).",
        "",
        "| lake | median s | rows/s | x local | peak RSS MB |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {w} | {median[w]:.1f} | {rows / median[w]:,.0f} | "
            f"{median[w] / median['local']:.2f} | {peak[w]:,.0f} |"
            for w in WHERE
        ),
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| the S3 run streams: peak RSS ≤ 1 GB | {peak['s3']:,.0f} MB | "
        f"{'yes' if met else 'no'} |",
        f"| (reported) S3 / local wall time | {ratio:.2f} x | - |",
    ]


def run(rows: int, rounds: int, tmp: Path, csv: Path | None = None) -> list[str]:
    """Measure and return the section (the hook `benchmarks.run` calls with its own CSV)."""
    if csv is None:
        from benchmarks.generate import generate

        csv = generate(rows, tmp / "s3-data" / "sales.csv")
    return section(rows, compare(csv, rounds, tmp))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory(prefix="medalist-bench-s3-") as tmp:
        print("\n".join(run(args.rows, args.rounds, Path(tmp))))


if __name__ == "__main__":
    main()
