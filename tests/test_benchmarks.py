"""The benchmark scripts still run (tiny sizes): a harness nobody runs rots."""

from __future__ import annotations

import pytest

from benchmarks import run, s3
from benchmarks.generate import generate
from benchmarks.validate_memory import measure


def test_the_memory_benchmark_runs_and_measures_the_child():
    seconds, rss_mb = measure(10_000)
    assert seconds > 0 and 30 < rss_mb < 1_000


# ~60 s of child processes; the page's text is tested in test_benchmark_doc.py, and `make bench`
# runs this path in full
@pytest.mark.heavy
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
            "--burst-files",
            "2",
            "--history-days",
            "2",
            "--s3-rounds",
            "0",  # the S3 line has its own test below, on the session's endpoint
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
    assert "## Bursts of small files" in text and "## A year of history" in text
    assert "| 2-file burst ≤ 3 x one file |" in text and "| 1% increment after 2 days" in text
    assert "| medalist extract |" in text and "medalist / floor: " in text  # extract section
    targets = text.split("## Targets", 1)[1].split("\n<a id=", 1)[0]  # gathered, at the top
    assert "| full run ≤ 1.5 x the floor |" in targets and "| daily 1% increment" in targets
    rows = [line for line in targets.splitlines()[4:] if line]
    measured = [line for line in rows if "| not measured |" not in line]
    unmeasured = {line.split(" | ")[1] for line in rows if line not in measured}
    assert {"s3", "spark", "bigfile"} <= unmeasured  # not asked for: said, not left out
    assert len(measured) == 6  # floor, RSS, increment, burst, history, extract (one scale size)
    assert all(line.endswith(("| yes |", "| no |")) for line in measured)
    assert text.count("<!-- section: ") == text.count("<!-- /section -->") == 6
    assert "Not run here" in text and "dlt-fast" in text  # dlt lives in .venv-bench only


@pytest.mark.heavy  # ~10 s: a child process on the endpoint; `make bench` runs it in full
def test_the_s3_line_measures_a_run_on_the_endpoint_and_leaves_no_bucket(aws_endpoint, tmp_path):
    """The S3 half of the bench line (its local half is the medalist contender above)."""
    import boto3

    csv = generate(2_000, tmp_path / "data" / "sales.csv")
    s3_client = boto3.client("s3", endpoint_url=aws_endpoint, region_name=s3.REGION)
    before = {b["Name"] for b in s3_client.list_buckets()["Buckets"]}

    seconds, rss_mb = s3.measure("s3", csv, tmp_path, aws_endpoint)

    assert seconds > 0 and 30 < rss_mb < s3.RSS_TARGET_MB
    assert {b["Name"] for b in s3_client.list_buckets()["Buckets"]} == before
