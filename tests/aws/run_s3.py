"""`python -m tests.aws.run_s3 PIPELINE.yaml METASTORE`: what `medalist run` does, on a lake on
S3 with the SQLite run log of tests/aws/lake.py (until `medalist run` can open DynamoDB)."""

from __future__ import annotations

import sys
from pathlib import Path

from medalist.config import load_pipeline
from medalist.controller import run_pipeline
from tests.aws.lake import s3_ports


def main(config: str, metastore: str) -> int:
    pipeline = load_pipeline(config)
    outcome = run_pipeline(pipeline, s3_ports(pipeline, Path(metastore)))
    for run in outcome.runs:
        print(run.file, run.status, run.error)
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
