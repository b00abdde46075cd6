"""medalist, a full run: crawl, validate against the contract, dedupe, quarantine, silver, one
gold model, and load silver and gold into PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import yaml

from benchmarks.generate import CONTRACT, GOLD_SQL


def main(csv: str, url: str, workdir: str, run_in: str = "engine") -> None:
    """One run of the landed CSV; the gold model built by the engine (DuckDB) or, with
    run_in="destination", inside the destination (ELT, decision 0021)."""
    root = Path(workdir) / "medalist"
    landing = root / "lake" / "landing" / "sales"
    landing.mkdir(parents=True, exist_ok=True)
    target = landing / Path(csv).name
    if not target.exists():  # a hard link: the file as delivered, without a copy's cost
        try:
            os.link(csv, target)
        except OSError:
            shutil.copyfile(csv, target)
    write_config(root, url, run_in)
    from medalist.controller import run_pipeline
    from medalist.loader import load_pipeline
    from medalist.wiring import local_ports

    pipeline = load_pipeline(root / "pipeline.yaml")
    (run,) = run_pipeline(pipeline, local_ports(pipeline)).runs
    if run.status != "SUCCEEDED":
        raise SystemExit(f"medalist run failed: {run.error}")
    print(run.rows_loaded, run.rows_silver, run.rows_quarantined)


def write_config(root: Path, url: str, run_in: str = "engine") -> None:
    """The benchmark's pipeline.yaml in `root`: the sales contract, one gold model."""
    config = {
        "name": "bench",
        **(
            {"memory_limit": os.environ["MEDALIST_BENCH_MEMORY"]}
            if "MEDALIST_BENCH_MEMORY" in os.environ
            else {}
        ),
        "destination": url,
        "datasets": {"sales": CONTRACT},
        "models": {
            "sales_by_day": {
                "sql": GOLD_SQL,
                "primary_key": ["day", "channel"],
                "run_in": run_in,
            }
        },
        "notifications": [],
    }
    (root / "pipeline.yaml").write_text(yaml.safe_dump(config))


if __name__ == "__main__":
    main(*sys.argv[1:4])
