"""The Engine port on Spark. Contracts compile with the Spark dialect (contracts.dialect), user
SQL is translated from DuckDB's (engine.portable); what is metadata only (a landed file's
header, a Parquet file's columns and tag) is read on the driver by DuckDB, like the rest of
medalist's driver-side work."""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from medalist.config import Format, OnFail, SparkSpec
from medalist.contracts.dialect import SPARK
from medalist.contracts.rules import Reading, checked_sql, quarantine_sql, silver_sql
from medalist.engine import FileSpec, Validation, ValidationJob, validate_each
from medalist.engine.duckdb import DuckDBEngine
from medalist.engine.duckdb.errors import _refuse_file
from medalist.engine.portable import spark_sql, view_name
from medalist.engine.spark.reader import CORRUPT, read_landed
from medalist.engine.spark.session import spark_session
from medalist.engine.spark.writer import combine
from medalist.errors import InputError
from medalist.incremental import Decomposable

BATCH_ROWS = 25_000
_MALFORMED = " (line kept in _raw_line)"


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
        from pyspark.sql import functions as F

        file, dataset = job.file, job.dataset
        csv = file.format in (Format.csv, Format.tsv)
        delivered = list(self._driver.describe(file)) if csv else None
        landed = read_landed(self.spark, file, delivered or [])
        source_columns = {c: "VARCHAR" for c in landed.columns if c not in ("_source_row", CORRUPT)}
        landed_dir = self._scratch("landed")
        try:
            landed.write.parquet(str(landed_dir))
        except Exception as exc:  # the reader's error, in our words
            raise _unreadable(exc, file) from None
        rows = self.spark.read.parquet(str(landed_dir))
        rows.where(F.col(CORRUPT).isNull()).drop(CORRUPT).createOrReplaceTempView("landed")
        reading = Reading(
            source_columns,
            job.mapping,
            job.extras,
            decimal_comma=csv and file.csv.decimal_separator == ",",
            dataset_name=job.dataset_name,
            dialect=SPARK,
        )
        self.spark.sql(checked_sql(dataset, "landed", reading)).write.parquet(
            str(self._scratch("checked"))
        )
        self.spark.read.parquet(str(self._scratch("checked"))).createOrReplaceTempView("checked")
        lineage = (
            f"{SPARK.literal(job.run_id)} AS _run_id, {SPARK.literal(job.source_file)} AS "
            f"_source_file, CAST({SPARK.literal(job.ingested_at.isoformat())} AS TIMESTAMP) "
            "AS _ingested_at"
        )
        valid = "(SELECT * FROM checked WHERE size(_rules) = 0)"
        silver = silver_sql(dataset, valid, lineage, job.extras, dedupe_needed=True, d=SPARK)
        rows_silver = self._write(self.spark.sql(silver), job.silver_url)
        quarantine = self.spark.sql(quarantine_sql(source_columns, "checked", lineage, d=SPARK))
        malformed = rows.where(F.col(CORRUPT).isNotNull())
        malformed.createOrReplaceTempView("landed_malformed")
        if csv:
            quarantine = quarantine.unionByName(
                self.spark.sql(_malformed_sql(lineage, source_columns, _delimiter(file))),
                allowMissingColumns=False,
            )
        # Counts from what is written (Parquet footers), not from more Spark jobs.
        rows_in = sum(pq.ParquetFile(p).metadata.num_rows for p in landed_dir.glob("*.parquet"))
        rows_bad = self._write(quarantine, job.quarantine_url)  # unstaged when empty
        rule_counts, first_rows = self._rule_counts(job, malformed=csv)
        _refuse_file(job, rows_in, rows_bad, rule_counts, first_rows)
        duplicates = rows_in - rows_bad - rows_silver
        if duplicates:
            rule_counts["primary_key:duplicate"] = duplicates
        return Validation(rows_in, rows_silver, rows_bad, duplicates, rule_counts)

    def _rule_counts(
        self, job: ValidationJob, malformed: bool
    ) -> tuple[dict[str, int], dict[str, int]]:
        lists = ["_rules"]
        if any(r.on_fail != OnFail.quarantine for r in job.dataset.rules):
            lists += ["_warnings", "_fails"]
        parts = [f"SELECT explode({SPARK.concat_lists(*lists)}) AS rule, _source_row FROM checked"]
        if malformed:
            parts.append("SELECT 'row:malformed' AS rule, _source_row FROM landed_malformed")
        counts = self.spark.sql(
            f"SELECT rule, count(*) AS n, min(_source_row) AS first FROM ("
            f"{' UNION ALL '.join(parts)}) GROUP BY rule"
        )
        found = self._fetch(counts)
        return (
            {r["rule"]: int(r["n"]) for r in found},
            {r["rule"]: int(r["first"]) for r in found},
        )

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

    def keys_overlap(self, earlier: list[str], new: str, key: list[str]) -> bool:
        if not earlier:
            return False
        old = self.spark.read.option("mergeSchema", "true").parquet(*earlier).select(*key)
        fresh = self.spark.read.parquet(new).select(*key)
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

    def _fetch(self, df: Any) -> list[dict[str, Any]]:
        """A small result's rows, through a Parquet file (PySpark's collect() leaves its
        socket to the garbage collector)."""
        out = self._tmp / f"fetch-{uuid.uuid4().hex}.parquet"
        self._write(df.coalesce(1), str(out))
        try:
            return sorted(pq.read_table(out).to_pylist(), key=repr)
        finally:
            out.unlink(missing_ok=True)

    def _write(self, df: Any, out_url: str, tag: str | None = None) -> int:
        parts = self._tmp / f"parts-{uuid.uuid4().hex}"
        df.write.parquet(str(parts))
        return combine(parts, out_url, tag)


def _malformed_sql(lineage: str, source_columns: Mapping[str, str], delimiter: str) -> str:
    """Quarantine rows for lines that could not be split into the header's fields (said as
    DuckDB says it)."""
    cols = ", ".join(f"CAST(NULL AS STRING) AS {SPARK.ident(c)}" for c in source_columns)
    return (
        f"SELECT {cols}, array('row:malformed') AS _rules, "
        f"concat('Expected Number of Columns: {len(source_columns)} Found: ', "
        f"size(split({CORRUPT}, {SPARK.literal(re.escape(delimiter))})), "
        f"{SPARK.literal(_MALFORMED)}) AS _reason, {CORRUPT} AS _raw_line, {lineage}, _source_row "
        "FROM landed_malformed"
    )


def _unreadable(exc: Exception, file: FileSpec) -> InputError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(
        f"cannot be read as {file.format.value}: {first[:300]}",
        path=Path(file.url).name if "://" not in file.url else file.url,
        fix="Fix or replace the file in landing, or set the dataset's `format:` if it is not "
        + file.format.value
        + ".",
    )


def _delimiter(file: FileSpec) -> str:
    return file.csv.delimiter or file.delimiter or ("\t" if file.format == Format.tsv else ",")
