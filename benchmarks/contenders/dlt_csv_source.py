"""What a dlt user loading landed CSV files would write: the `filesystem` source with its
`read_csv` transformer, into PostgreSQL."""

from __future__ import annotations

import sys
from pathlib import Path

import dlt
from dlt.sources.filesystem import filesystem, read_csv

from benchmarks.contenders.dlt_fast import with_password


def main(csv: str, url: str, workdir: str) -> None:
    path = Path(csv)
    files = filesystem(bucket_url=path.parent.as_uri(), file_glob=path.name)
    pipeline = dlt.pipeline(
        pipeline_name="bench_csv",
        destination=dlt.destinations.postgres(credentials=with_password(url)),
        dataset_name="bench",
        pipelines_dir=workdir,
    )
    info = pipeline.run((files | read_csv()).with_name("sales"))
    info.raise_on_failed_jobs()
    print(pipeline.last_trace.last_normalize_info.row_counts.get("sales"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
