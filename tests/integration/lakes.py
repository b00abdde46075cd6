"""A project on a local lake or on a lake on the local S3 endpoint, seen through the Storage
port alike: what the integration tests need to run once per kind of lake."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from medalist.config import Pipeline
from medalist.controller import Outcome, run_pipeline
from medalist.wiring import open_ports
from medalist.workflow.context import Ports
from tests.conftest import Project

LAKES = ["local", "s3"]


class Lake:
    """A project whose lake is `kind` (local or s3)."""

    def __init__(self, kind: str, project: Project) -> None:
        self.kind = kind
        self.project = project

    @cached_property
    def pipeline(self) -> Pipeline:
        return self.project.pipeline

    @cached_property
    def ports(self) -> Ports:
        return open_ports(self.pipeline)

    def put(self, path: str, content: str | bytes) -> None:
        """A file in landing, as a client would have put it there."""
        data = content.encode() if isinstance(content, str) else content
        if self.kind == "local":
            self.project.land(path, data)
            return
        bucket, _, key = (
            self.ports.storage.url("landing", path).removeprefix("s3://").partition("/")
        )
        self.ports.storage.s3.put_object(Bucket=bucket, Key=key, Body=data)  # type: ignore[attr-defined]

    def names(self, dataset: str) -> list[str]:
        """Files in landing/<dataset>/ (published ones: no staged object)."""
        return [f.path for f in self.ports.storage.find("landing", f"{dataset}/*")]

    def staged(self) -> list[str]:
        """Staged objects left in any zone (a finished write must leave none)."""
        if self.kind == "s3":
            from tests.aws.lake import staged_left

            return staged_left(self.ports.storage)  # type: ignore[arg-type]
        lake = self.project.root / "lake"
        return [p.as_posix() for p in lake.rglob(".staging/*") if p.is_file()]

    def read(self, path: str) -> bytes:
        return self.ports.storage.head("landing", path, 1 << 30)

    def rows(self, dataset: str, sql: str = "SELECT * FROM files") -> dict[str, list[Any]]:
        """Rows of each landed Parquet file of the dataset (`files` in the query), by name; read
        whole through the Storage port (small test files: quicker than DuckDB over s3fs)."""
        con = duckdb.connect()
        found = {}
        for name in self.names(dataset):
            if name.endswith(".parquet"):
                files = pq.read_table(pa.BufferReader(self.read(name)))  # noqa: F841 (in sql)
                found[name.split("/")[-1]] = con.sql(sql).fetchall()
        con.close()
        return found

    def silver(self, dataset: str) -> list[dict[str, Any]]:
        """The dataset's silver rows, every published file read through the Storage port."""
        found: list[dict[str, Any]] = []
        for stored in self.ports.storage.find("silver", f"{dataset}/*.parquet"):
            data = self.ports.storage.head("silver", stored.path, 1 << 30)
            found += pq.read_table(pa.BufferReader(data)).to_pylist()
        return found

    def run(self) -> Outcome:
        return run_pipeline(self.pipeline, self.ports)
