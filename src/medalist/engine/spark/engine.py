"""The Engine port on Spark. Contracts compile with the Spark dialect (contracts.dialect), user
SQL is translated from DuckDB's (engine.portable); what is metadata only (a landed file's
header, a Parquet file's columns and tag) is read on the driver by DuckDB, like the rest of
medalist's driver-side work."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from medalist.config import Format, SparkSpec
from medalist.contracts.dialect import SPARK
from medalist.engine import FileSpec, Validation, ValidationJob, validate_each
from medalist.engine.duckdb import DuckDBEngine
from medalist.engine.portable import spark_sql, view_name
from medalist.engine.spark.session import spark_session
from medalist.engine.spark.validation import validate
from medalist.engine.spark.writer import combine, write_parts
from medalist.errors import InputError
from medalist.incremental import Decomposable

BATCH_ROWS = 25_000


class SparkEngine:
    """One engine per run over the process's SparkSession; scratch under `temp_dir`."""

    def __init__(self, spec: SparkSpec, temp_dir: Path | None = None) -> None:
        self.spark = spark_session(spec.master, spec.conf)
        base = temp_dir or Path(tempfile.gettempdir())
        self._tmp = base / f"spark-{uuid.uuid4().hex}"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._driver = DuckDBEngine(temp_dir=self._tmp / "duckdb")
        self._views: list[str] = []

    # -- metadata, on the driver ------------------------------------------------------------
    def describe(self, file: FileSpec) -> dict[str, str]:
        return self._driver.describe(file)

    def tag(self, url: str) -> str | None:
        return self._driver.tag(url)

    def columns(self, url: str) -> dict[str, str]:
        return self._driver.columns(url)

    # -- validation ---------------------------------------------------------------------------
    def validate_many(self, jobs: Sequence[ValidationJob]) -> list[Validation | InputError]:
        """One file at a time (no combined pass on Spark yet), each with a scratch folder of
        its own: `validate` names its scratch folders, which one engine's files would share."""
        base, results = self._tmp, []
        try:
            for i, job in enumerate(jobs):
                self._tmp = base / f"file-{i}"
                results += validate_each(self.validate, [job])
                shutil.rmtree(self._tmp, ignore_errors=True)
        finally:
            self._tmp = base
        return results

    def validate(self, job: ValidationJob) -> Validation:
        csv = job.file.format in (Format.csv, Format.tsv)
        delivered = list(self._driver.describe(job.file)) if csv else None
        work = self._scratch(f"validate-{uuid.uuid4().hex}")
        try:
            return validate(self.spark, work, delivered, job)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # -- zones, gold ----------------------------------------------------------------------------
    def expose(
        self,
        schema: str,
        name: str,
        urls: list[str],
        columns: dict[str, str],
        latest_by: list[str],
        order_by: str | None = None,
    ) -> None:
        view = view_name(schema, name)
        if not urls:
            cols = ", ".join(
                f"CAST(NULL AS {SPARK.type(kind)}) AS {SPARK.ident(c)}"
                for c, kind in columns.items()
            )
            self.spark.sql(f"SELECT {cols} WHERE false").createOrReplaceTempView(view)
            return
        df = self.spark.read.option("mergeSchema", "true").parquet(*urls)
        if latest_by and len(urls) > 1:
            df.createOrReplaceTempView(f"{view}__all")
            key = ", ".join(SPARK.ident(c) for c in latest_by)
            first = f"{SPARK.ident(order_by)} DESC NULLS LAST, " if order_by else ""
            order = f"{first}_run_id DESC, _source_row DESC"
            df = self.spark.sql(SPARK.latest("*", f"{view}__all", key, order)).drop("_medalist_rn")
        df.createOrReplaceTempView(view)

    def materialize(self, sql: str, out_url: str, tag: str | None = None) -> int:
        return self._write(self.spark.sql(spark_sql(sql)), out_url, tag)

    def merge_gold(
        self, plan: Decomposable, previous_url: str, incoming_sql: str, out_url: str, tag: str
    ) -> int:
        from pyspark.sql import functions as F

        previous = self.spark.read.parquet(previous_url)
        incoming = self.spark.sql(spark_sql(incoming_sql))
        types = dict(previous.dtypes)
        aggregates = {"sum": F.sum, "min": F.min, "max": F.max}
        merged = (
            previous.unionByName(incoming.select(*previous.columns))
            .groupBy(*plan.keys)
            .agg(
                *[
                    aggregates[how](name).cast(types[name]).alias(name)
                    for name, how in plan.merges.items()
                ]
            )
            .select(*previous.columns)
        )
        return self._write(merged, out_url, tag)

    def keys_overlap(self, earlier: list[str], new: str | list[str], key: list[str]) -> bool:
        if not earlier:
            return False
        old = self.spark.read.option("mergeSchema", "true").parquet(*earlier).select(*key)
        fresh = self.spark.read.parquet(*([new] if isinstance(new, str) else new)).select(*key)
        return bool(old.join(fresh, key, "left_semi").limit(1).count())

    # -- reading results ----------------------------------------------------------------------
    def scan_file(self, url: str) -> pa.RecordBatchReader:
        source = pq.ParquetFile(url)
        return pa.RecordBatchReader.from_batches(
            source.schema_arrow, source.iter_batches(batch_size=BATCH_ROWS)
        )

    def scan_table(self, schema: str, name: str) -> pa.RecordBatchReader:
        out = self._tmp / f"scan-{uuid.uuid4().hex}.parquet"
        self._write(self.spark.table(view_name(schema, name)), str(out))
        return self.scan_file(str(out))

    def close(self) -> None:
        for view in self.spark.catalog.listTables():
            if view.isTemporary:
                self.spark.catalog.dropTempView(view.name)
        self._driver.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------------
    def _scratch(self, name: str) -> Path:
        return self._tmp / name

    def _write(self, df: Any, out_url: str, tag: str | None = None) -> int:
        parts = self._tmp / f"parts-{uuid.uuid4().hex}"
        write_parts(df, parts)
        return combine(parts, out_url, tag)
