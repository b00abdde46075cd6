"""The benchmark scripts still run (tiny sizes): a harness nobody runs rots."""

from __future__ import annotations

from benchmarks.validate_memory import measure


def test_the_memory_benchmark_runs_and_measures_the_child():
    seconds, rss_mb = measure(10_000)
    assert seconds > 0 and 30 < rss_mb < 1_000
