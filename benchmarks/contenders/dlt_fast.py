"""dlt's fastest documented path to PostgreSQL: an Arrow table loaded as Parquet (through ADBC
when adbc-driver-postgresql is installed). The CSV is read with pyarrow first."""

from __future__ import annotations

import sys

import dlt
import pyarrow.csv as pacsv


def main(csv: str, url: str, workdir: str, file_format: str = "parquet") -> None:
    table = pacsv.read_csv(csv)
    pipeline = dlt.pipeline(
        pipeline_name="bench_fast",
        destination=dlt.destinations.postgres(credentials=with_password(url)),
        dataset_name="bench",
        pipelines_dir=workdir,
    )
    kwargs = {"loader_file_format": file_format} if file_format != "default" else {}
    info = pipeline.run(table, table_name="sales", **kwargs)
    info.raise_on_failed_jobs()
    print(table.num_rows)


def with_password(url: str) -> str:
    """dlt insists on a password; trust auth ignores it, so give it one when the URL has none."""
    head, _, rest = url.partition("://")
    user, at, host = rest.partition("@")
    return f"{head}://{user}:unused@{host}" if at and ":" not in user else url


if __name__ == "__main__":
    main(*sys.argv[1:4])
