"""The overview's charts as data: runs binned by hour (the last day) or by day (14 or 90
days), each chart a spec static/charts.js draws with uPlot: its time range, axis labels,
unit and series."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from medalist.runlog import RunRecord, Status

# span name -> (how far back, bin width)
SPANS: dict[str, tuple[timedelta, timedelta]] = {
    "1d": (timedelta(days=1), timedelta(hours=1)),
    "14d": (timedelta(days=14), timedelta(days=1)),
    "90d": (timedelta(days=90), timedelta(days=1)),
}
OUTCOMES = ("SUCCEEDED", "WARN", "FAILED", "RUNNING")


def bins(span: str, at: datetime) -> list[datetime]:
    """The starts of the span's bins, oldest first; the last one holds `at`."""
    back, width = SPANS[span]
    at = at.astimezone(UTC)
    if width == timedelta(hours=1):
        last = at.replace(minute=0, second=0, microsecond=0)
    else:
        last = at.replace(hour=0, minute=0, second=0, microsecond=0)
    count = int(back / width)
    return [last - width * n for n in range(count - 1, -1, -1)]


def chart(
    title: str,
    starts: Sequence[datetime],
    width: timedelta,
    series: dict[str, list[float | None]],
    *,
    unit: str,
    y_label: str,
    kind: str = "bars",
    stacked: bool = False,
    top: float | None = None,
) -> dict[str, Any]:
    step = int(width.total_seconds())
    first = int(starts[0].timestamp())
    return {
        "title": title,
        "kind": kind,
        "x": [int(s.timestamp()) + step // 2 for s in starts],  # each bar in its bin's middle
        "from": first,
        "to": first + step * len(starts),
        "x_label": "hour (UTC)" if width < timedelta(days=1) else "day (UTC)",
        "y_label": y_label,
        "unit": unit,
        "stacked": stacked,
        "max": top,
        "integer": not unit,  # counts: ticks at whole numbers
        "series": [{"label": k, "values": v} for k, v in series.items()],
    }


def timeline(runs: list[RunRecord], span: str, at: datetime) -> list[dict[str, Any]]:
    """Four charts over the span: runs by outcome, rows loaded, failure rate, median time."""
    starts = bins(span, at)
    width = SPANS[span][1]
    per_bin: list[list[RunRecord]] = [[] for _ in starts]
    first = starts[0]
    for run in runs:
        started = run.started_at.astimezone(UTC)
        if started < first:
            continue
        index = min(int((started - first) / width), len(starts) - 1)
        per_bin[index].append(run)
    done = [[r for r in b if r.status != Status.RUNNING] for b in per_bin]
    outcomes: dict[str, list[float | None]] = {
        o: [float(sum(r.outcome == o for r in b)) for b in per_bin] for o in OUTCOMES
    }
    per = "hour" if width < timedelta(days=1) else "day"
    return [
        chart(
            f"Runs per {per} by outcome",
            starts,
            width,
            outcomes,
            unit="",
            y_label="runs",
            stacked=True,
        ),
        chart(
            f"Rows loaded per {per}",
            starts,
            width,
            {"rows": [float(sum(r.rows_loaded or 0 for r in b)) for b in per_bin]},
            unit="",
            y_label="rows loaded",
        ),
        chart(
            f"Failure rate per {per}",
            starts,
            width,
            {
                "FAILED": [
                    round(100 * sum(r.status == Status.FAILED for r in d) / len(d), 1)
                    if d
                    else None
                    for d in done
                ]
            },
            unit="%",
            y_label="failed runs (%)",
            top=100,
        ),
        chart(
            f"Median run time per {per}",
            starts,
            width,
            {
                "median": [
                    round(statistics.median(r.duration_s or 0 for r in d), 2) if d else None
                    for d in done
                ]
            },
            unit="s",
            y_label="seconds",
            kind="line",
        ),
    ]


def dataset_charts(runs: list[RunRecord], at: datetime) -> list[dict[str, Any]]:
    """One dataset's last 90 days: rows into silver, and the share of rows quarantined."""
    starts = bins("90d", at)
    width = SPANS["90d"][1]
    per_bin: list[list[RunRecord]] = [[] for _ in starts]
    for run in runs:
        started = run.started_at.astimezone(UTC)
        if started >= starts[0] and run.rows_in is not None:
            per_bin[min(int((started - starts[0]) / width), len(starts) - 1)].append(run)
    silver: list[float | None] = [float(sum(r.rows_silver or 0 for r in b)) for b in per_bin]
    bad: list[float | None] = []
    for b in per_bin:
        rows_in = sum(r.rows_in or 0 for r in b)
        quarantined = sum(r.rows_quarantined or 0 for r in b)
        bad.append(round(100 * quarantined / rows_in, 2) if rows_in else None)
    return [
        chart(
            "Rows into silver per day",
            starts,
            width,
            {"rows": silver},
            unit="",
            y_label="rows",
        ),
        chart(
            "Bad-row rate per day",
            starts,
            width,
            {"FAILED": bad},
            unit="%",
            y_label="rows quarantined (%)",
            top=100,
        ),
    ]
