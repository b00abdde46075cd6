"""The benchmark scripts still run (tiny sizes): a harness nobody runs rots."""

from __future__ import annotations

from benchmarks import run
from benchmarks.validate_memory import measure


def test_the_memory_benchmark_runs_and_measures_the_child():
    seconds, rss_mb = measure(10_000)
    assert seconds > 0 and 30 < rss_mb < 1_000


def test_the_harness_runs_the_floor_and_medalist_and_writes_the_table(tmp_path):
    out = tmp_path / "benchmarks.md"

    run.main(
        [
            "--rows",
            "5000",
            "--rounds",
            "1",
            "--contenders",
            "floor,medalist,dlt-fast",
            "--scaling",
            "5000",
            "--spark-rows",  # JVM start-ups: benchmarks/spark.py is exercised by make bench
            "",
            "--out",
            str(out),
        ]
    )

    text = out.read_text()
    assert "| floor | DuckDB CSV→Parquet + psql \\copy of the CSV |" in text
    medalist = next(line for line in text.splitlines() if line.startswith("| medalist |"))
    assert float(medalist.split("|")[5]) > 0  # its ratio to the floor was computed
    assert "| 5,000 |" in text  # the scaling table
    assert "a daily file of 50 rows (1%) took" in text  # the increment, after 30 days
    targets = text.split("## Targets", 1)[1]  # each measured target says whether it is met
    assert "| full run ≤ 1.5 x the floor |" in targets and "| daily 1% increment" in targets
    assert all(line.endswith(("| yes |", "| no |")) for line in targets.splitlines()[4:] if line)
    assert "Not run here" in text and "dlt-fast" in text  # dlt lives in .venv-bench only
