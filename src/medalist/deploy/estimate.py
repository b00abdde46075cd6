"""The seed's "cost and data volume" plan: what one month of this pipeline costs on AWS.

Prices come from a dated table shipped with medalist (prices.json). Glue's DPU-hours, the main
cost, come from throughput this pipeline measured on its own runs: the run log holds each run's
bytes and, in its history, when each state started and ended. Every number that is assumed
rather than measured is listed with the result.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from medalist.config import Pipeline
from medalist.deploy.asl import Compute
from medalist.runlog import RunRecord, Status

DAYS = 30
STATES = ("Crawl", "Transform", "Load")
# Used when the run log has no successful run to measure: 5M rows (367 MB of CSV) end to end
# in 9.0 s on 2 cores (docs/benchmarks.md), split evenly over the three states.
BENCH_BYTES_PER_S = 367e6 / 9.0
SPEED_FROM = 10e6  # runs of files this big measure a state's speed, smaller ones its fixed cost


def prices() -> dict[str, Any]:
    text = resources.files("medalist.deploy").joinpath("prices.json").read_text()
    return dict(json.loads(text))


@dataclass(frozen=True)
class Throughput:
    """Seconds a state takes for a file: fixed + bytes / bytes_per_s."""

    fixed_s: float
    bytes_per_s: float
    runs: int  # how many runs it was measured on
    measured: bool  # bytes_per_s measured (else the benchmark's)

    def seconds(self, nbytes: float) -> float:
        return self.fixed_s + nbytes / self.bytes_per_s


def state_seconds(run: RunRecord) -> dict[str, float]:
    """How long each state of a run worked: from its first RUNNING to its SUCCEEDED step
    (waits between a failed attempt's retries included: they are billed too)."""
    began: dict[str, Any] = {}
    took: dict[str, float] = {}
    for step in run.history:
        if step.status == Status.RUNNING:
            began.setdefault(step.state, step.at)
        elif step.status == Status.SUCCEEDED and step.state in began:
            took[step.state] = (step.at - began[step.state]).total_seconds()
    return took


def measure(runs: Iterable[RunRecord]) -> dict[str, Throughput]:
    """Per state, a least-squares line of seconds over bytes across successful runs."""
    samples: dict[str, list[tuple[float, float]]] = {s: [] for s in STATES}
    for run in runs:
        if run.status != Status.SUCCEEDED or run.file_bytes <= 0:
            continue
        for state, seconds in state_seconds(run).items():
            if state in samples:
                samples[state].append((float(run.file_bytes), seconds))
    return {state: _fit(points) for state, points in samples.items()}


def _fit(points: Sequence[tuple[float, float]]) -> Throughput:
    """Small files show a state's fixed cost (start, catalog, commit), big ones its speed. The
    speed is the benchmark's until a run of at least SPEED_FROM bytes was measured."""
    small = [s for b, s in points if b < SPEED_FROM]
    fixed = statistics.median(small) if small else 0.0
    big = [(b, max(s - fixed, 1e-3)) for b, s in points if b >= SPEED_FROM]
    if not big:
        return Throughput(fixed, BENCH_BYTES_PER_S / len(STATES), len(points), measured=False)
    speed = sum(b for b, _ in big) / sum(s for _, s in big)
    return Throughput(fixed, speed, len(points), measured=True)


@dataclass
class Line:
    service: str
    usage: str
    monthly_usd: float


@dataclass
class Estimate:
    lines: list[Line] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    prices_as_of: str = ""
    region: str = ""

    @property
    def total(self) -> float:
        return sum(line.monthly_usd for line in self.lines)


@dataclass(frozen=True)
class Volume:
    daily_gb: float
    files_per_day: float
    glue_worker_type: str = "G.1X"
    glue_workers: int = 2
    landing_ia_days: int = 30
    landing_expire_days: int = 365
    athena_tb_month: float = 0.0
    silver_ratio: float = 0.25  # silver Parquet bytes per landed byte


def estimate(
    pipeline: Pipeline, runs: Iterable[RunRecord], volume: Volume, compute: Compute = "glue"
) -> Estimate:
    p = prices()
    speed = measure(runs)
    result = Estimate(prices_as_of=p["as_of"], region=p["region"])
    runs_month = volume.files_per_day * DAYS
    file_bytes = volume.daily_gb * 1e9 / max(volume.files_per_day, 1e-9)
    seconds = {state: speed[state].seconds(file_bytes) for state in STATES}
    fast = [s for s in STATES if speed[s].measured]
    if fast:
        described = ", ".join(f"{s} {speed[s].bytes_per_s / 1e6:.0f} MB/s" for s in fast)
        result.assumptions.append(
            f"Speeds measured on this pipeline's runs of files over {SPEED_FROM / 1e6:.0f} MB: "
            f"{described}; a Glue worker runs the states on its driver at that speed."
        )
    if len(fast) < len(STATES):
        result.assumptions.append(
            f"No run of a file over {SPEED_FROM / 1e6:.0f} MB measured "
            f"{', '.join(s for s in STATES if s not in fast)}: speed assumed from the 5M-row "
            f"benchmark ({BENCH_BYTES_PER_S / 1e6:.0f} MB/s end to end). Run a full-size file "
            "first for an estimate of your own data."
        )
    fixed = {s: speed[s].fixed_s for s in STATES if speed[s].runs}
    if fixed:
        result.assumptions.append(
            "Fixed time per state, measured: "
            + ", ".join(f"{s} {f:.2f} s" for s, f in fixed.items())
            + f" ({max(speed[s].runs for s in STATES)} runs)."
        )
    result.assumptions.append(
        f"{volume.files_per_day:g} files a day of {file_bytes / 1e6:.1f} MB each, one run per "
        f"file, {DAYS} days a month."
    )
    if compute == "glue":
        result.lines.append(_glue(p, volume, seconds, runs_month, result.assumptions))
    result.lines += _lambda(p, compute, seconds, runs_month, result.assumptions)
    result.lines += _platform(p, pipeline, volume, runs_month, result.assumptions)
    return result


def _glue(
    p: dict[str, Any],
    volume: Volume,
    seconds: dict[str, float],
    runs_month: float,
    notes: list[str],
) -> Line:
    dpu = p["glue_dpu_per_worker"][volume.glue_worker_type] * volume.glue_workers
    minimum = p["glue_minimum_seconds"]
    billed = sum(max(minimum, s) for s in seconds.values())
    dpu_hours = runs_month * billed / 3600 * dpu
    notes.append(
        f"Glue: {volume.glue_workers} x {volume.glue_worker_type} ({dpu:g} DPU) per state, "
        f"each state a job run billed per second with a {minimum} s minimum: {billed:.0f} s "
        "billed per run."
    )
    return Line("Glue (DPU-hours)", f"{dpu_hours:,.1f} DPU-h", dpu_hours * p["glue_dpu_hour"])


def _lambda(
    p: dict[str, Any],
    compute: Compute,
    seconds: dict[str, float],
    runs_month: float,
    notes: list[str],
) -> list[Line]:
    # controller: one invocation per file (SQS batches only lower it) + the daily sweeps
    calls = runs_month + DAYS + runs_month  # controller + finish
    gb_s = (runs_month + DAYS) * 1.0 * 1.0 + runs_month * 0.5 * 0.5
    notes.append("Lambda: controller 1 s at 1 GB per file, finish 0.5 s at 512 MB per run.")
    if compute == "lambda":
        state_s = sum(seconds.values())
        calls += runs_month * len(STATES)
        gb_s += runs_month * state_s * 4.0
        notes.append(f"Lambda states: {state_s:.1f} s per run at 4 GB.")
    cost = gb_s * p["lambda_gb_second"] + calls * p["lambda_request"]
    transitions = runs_month * 6  # Crawl, Transform, Load, Record, Notify, end
    return [
        Line("Lambda", f"{gb_s:,.0f} GB-s, {calls:,.0f} requests", cost),
        Line(
            "Step Functions",
            f"{transitions:,.0f} transitions",
            transitions * p["sfn_standard_transition"],
        ),
    ]


def _platform(
    p: dict[str, Any],
    pipeline: Pipeline,
    volume: Volume,
    runs_month: float,
    notes: list[str],
) -> list[Line]:
    ia_days = min(volume.landing_ia_days, volume.landing_expire_days)
    standard_gb = volume.daily_gb * ia_days
    ia_gb = volume.daily_gb * (volume.landing_expire_days - ia_days)
    silver_gb = volume.daily_gb * volume.silver_ratio * 365
    storage = (standard_gb + silver_gb) * p["s3_standard_gb_month"] + ia_gb * p["s3_ia_gb_month"]
    models = len(pipeline.models)
    puts, gets = runs_month * (4 + 2 * models), runs_month * (20 + models)
    requests = puts * p["s3_put_request"] + gets * p["s3_get_request"]
    notes.append(
        f"S3 after a year: landing {standard_gb:,.0f} GB standard + {ia_gb:,.0f} GB IA "
        f"(IA after {volume.landing_ia_days} d, expiry {volume.landing_expire_days} d), silver "
        f"{silver_gb:,.0f} GB (Parquet at {volume.silver_ratio:g}x the landed bytes)."
    )
    writes, reads = runs_month * 50, runs_month * 20
    dynamo = writes * p["dynamodb_write_request_unit"] + reads * p["dynamodb_read_request_unit"]
    dynamo += runs_month * 12 * 5e-6 * p["dynamodb_gb_month"]
    notes.append("DynamoDB: about 50 write and 20 read units per run, 5 KB kept per run.")
    alerts = runs_month * (p["sns_publish"] + p["sns_email"])
    athena = volume.athena_tb_month * p["athena_tb_scanned"]
    logs = runs_month * 20e3 / 1e9 * p["cloudwatch_logs_gb_ingested"]
    notes.append(
        f"Athena: {volume.athena_tb_month:g} TB scanned a month (--athena-tb). No Aurora in "
        "the stack: a destination of your own is not counted."
    )
    return [
        Line("S3 storage", f"{standard_gb + ia_gb + silver_gb:,.0f} GB", storage),
        Line("S3 requests", f"{puts:,.0f} PUT, {gets:,.0f} GET", requests),
        Line("DynamoDB", f"{writes:,.0f} WRU, {reads:,.0f} RRU", dynamo),
        Line("SNS", f"{runs_month:,.0f} messages (1 e-mail each)", alerts),
        Line("Athena", f"{volume.athena_tb_month:g} TB scanned", athena),
        Line("CloudWatch Logs", f"{runs_month * 20e3 / 1e9:,.2f} GB", logs),
    ]
