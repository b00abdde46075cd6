"""The short chaos run of the suite: 7 SIGKILLs at random moments, then exactly-once checks.
`make chaos` runs the long one (50 kills); a failure prints the seed to replay it with."""

from __future__ import annotations

import os
import random

import pytest

from tests.chaos.chaos import chaos

KILLS = 7  # make test's budget: each kill is a process start; `make chaos` kills 50 times


@pytest.mark.parametrize(
    ("load_ahead", "elt", "burst", "compact_after"),
    [
        # loading ahead is also what the ELT variant does: this one is the slow half's
        pytest.param(True, False, 1, None, marks=pytest.mark.heavy),
        (False, False, 3, 3),
        (True, True, 1, None),
    ],
    ids=["loading-ahead", "loading-after-batches-of-3-compacting", "gold-in-postgres-too"],
)
def test_seven_kills_lose_nothing_duplicate_nothing_and_leave_no_run_stuck(
    tmp_path, pg_url, load_ahead, elt, burst, compact_after
):
    seed = int(os.environ.get("MEDALIST_CHAOS_SEED", random.randrange(1_000_000)))

    report = chaos(
        tmp_path,
        pg_url,
        seed=seed,
        kills=KILLS,
        load_ahead=load_ahead,
        elt=elt,
        burst=burst,
        compact_after=compact_after,
    )

    assert report.ok, f"seed {seed} (MEDALIST_CHAOS_SEED={seed} to replay):\n{report}"
    assert sum(report.kills.values()) == KILLS and report.rows_expected > 0


@pytest.mark.heavy  # ~65 s: `make test-heavy`, and `make chaos AWS=1` for the 50-kill soak
def test_ten_kills_on_the_aws_backed_pipeline(tmp_path, pg_url, aws_endpoint):
    """Zones in S3, run log in DynamoDB, catalog in Glue on the session's moto server (a process
    of its own: it outlives every kill). No staged object may be left in any bucket."""
    seed = int(os.environ.get("MEDALIST_CHAOS_SEED", random.randrange(1_000_000)))

    report = chaos(tmp_path, pg_url, seed=seed, kills=10, rows=1000, aws=aws_endpoint)

    assert report.ok, f"seed {seed} (MEDALIST_CHAOS_SEED={seed} to replay):\n{report}"
    assert sum(report.kills.values()) == 10 and report.rows_expected > 0
