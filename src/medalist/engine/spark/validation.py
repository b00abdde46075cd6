"""A landed file split into silver and quarantine on Spark, reading the file once (decision
0040): one Spark job types and checks every row and writes them all ("checked", with `_bad`);
the driver counts rows per split and per rule from a few small columns of it (`rows.census`);
silver and quarantine are copied out of the checked parts with their rows numbered as DuckDB
numbers them. A primary key costs one more job over the key alone, and a rewrite of silver
only when a key repeats in the file."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medalist.config import Format, OnFail
from medalist.contracts.dialect import SPARK
from medalist.contracts.rules import RAW, Reading, _cut, checked_sql
from medalist.engine import FileSpec, Validation, ValidationJob
from medalist.engine.duckdb.errors import _refuse_file
from medalist.engine.spark.reader import CORRUPT, read_landed
from medalist.engine.spark.rows import BAD, ROW, census
from medalist.engine.spark.writer import combine
from medalist.errors import InputError

LINEAGE = ("_run_id", "_source_file", "_ingested_at")
_MALFORMED = " (line kept in _raw_line)"


def validate(spark: Any, tmp: Path, delivered: list[str] | None, job: ValidationJob) -> Validation:
    """Type and check `job.file` against its contract; write silver and quarantine (as the
    DuckDB engine writes them); InputError when the file as a whole fails."""
    file, dataset = job.file, job.dataset
    csv = file.format in (Format.csv, Format.tsv)
    landed = read_landed(spark, file, delivered or [])
    source = [c for c in landed.columns if c not in (ROW, CORRUPT)]
    landed.createOrReplaceTempView("landed")
    reading = Reading(
        {**dict.fromkeys(source, "VARCHAR"), CORRUPT: "VARCHAR"},
        job.mapping,
        job.extras,
        decimal_comma=csv and file.csv.decimal_separator == ",",
        dataset_name=job.dataset_name,
        dialect=SPARK,
    )
    checked = spark.sql(_checked_sql(job, reading, source, _delimiter(file)))
    checked_dir = tmp / f"checked-{uuid.uuid4().hex}"
    try:
        checked.write.parquet(str(checked_dir))
    except Exception as exc:  # the reader's error, in our words
        raise _unreadable(exc, file) from None
    found = census(sorted(checked_dir.glob("part-*.parquet")))
    number = found.numbering()
    typed = [*dataset.columns, *job.extras]
    rows_silver = _silver(spark, tmp, job, checked_dir, typed, number)
    rows_bad = 0
    if found.bad:
        rows_bad = combine(
            checked_dir,
            job.quarantine_url,
            columns=[
                *(RAW + c for c in source),
                "_rules",
                "_reason",
                "_raw_line",
                *LINEAGE,
                ROW,
                BAD,
            ],
            rows=_quarantined(number, source),
            keep_parts=True,
        )
    rule_counts, first_rows = dict(found.rule_rows), found.rule_first
    _refuse_file(job, found.rows, rows_bad, rule_counts, first_rows)
    duplicates = found.rows - rows_bad - rows_silver
    if duplicates:
        rule_counts["primary_key:duplicate"] = duplicates
    return Validation(found.rows, rows_silver, rows_bad, duplicates, rule_counts)


def _checked_sql(job: ValidationJob, reading: Reading, source: list[str], delimiter: str) -> str:
    """Every landed row: typed contract columns, lineage, the delivered text of broken rows
    (`_raw_<column>`), the rule lists and `_bad`; a line that could not be split is broken
    by `row:malformed` alone, said as DuckDB says it."""
    d = SPARK
    ident = d.ident
    corrupt = ident(RAW + CORRUPT)
    malformed = f"({corrupt} IS NOT NULL)"
    lineage = (
        f"{d.literal(job.run_id)} AS _run_id, {d.literal(job.source_file)} AS _source_file, "
        f"CAST({d.literal(job.ingested_at.isoformat())} AS TIMESTAMP) AS _ingested_at"
    )
    typed = ", ".join(ident(c) for c in [*job.dataset.columns, *job.extras])
    raw = "".join(
        f", CASE WHEN size(_rules) > 0 THEN {_cut(d.text(ident(RAW + c)), d)} END "
        f"AS {ident(RAW + c)}"
        for c in source
    )
    found = f"size(split({corrupt}, {d.literal(re.escape(delimiter))}))"
    reason = (
        f"concat('Expected Number of Columns: {len(source)} Found: ', {found}, "
        f"{d.literal(_MALFORMED)})"
    )
    # Lists and reasons only where there is something in them: an empty list in every row of
    # Parquet costs more to write than the row's typed values.
    none = "CAST(NULL AS ARRAY<STRING>)"
    lists = "".join(
        f", CASE WHEN {malformed} OR size({name}) = 0 THEN {none} ELSE {name} END AS {name}"
        if any(r.on_fail == on_fail for r in job.dataset.rules)
        else f", {none} AS {name}"
        for name, on_fail in (("_warnings", OnFail.warn), ("_fails", OnFail.fail))
    )
    return (
        f"SELECT {typed}, {lineage}, {ROW}{raw}, "
        f"CASE WHEN {malformed} THEN array('row:malformed') WHEN size(_rules) > 0 THEN _rules "
        f"END AS _rules, "
        f"CASE WHEN {malformed} THEN {reason} WHEN size(_rules) > 0 THEN _reason END AS _reason, "
        f"{corrupt} AS _raw_line{lists}, "
        f"({malformed} OR size(_rules) > 0) AS {BAD} "
        f"FROM ({checked_sql(job.dataset, 'landed', reading)})"
    )


def _silver(
    spark: Any,
    tmp: Path,
    job: ValidationJob,
    checked_dir: Path,
    typed: list[str],
    number: Callable[[pa.Array], pa.Array],
) -> int:
    """Write silver: the valid rows, one per primary key (the last in the file wins)."""
    columns = [*typed, *LINEAGE, ROW]
    key = job.dataset.primary_key
    repeated = tmp / f"repeated-{uuid.uuid4().hex}"
    if key:  # which valid rows a later row of the same key replaces: a job over the key only
        by = ", ".join(SPARK.ident(c) for c in key)
        spark.sql(
            f"SELECT {ROW} FROM (SELECT {ROW}, row_number() OVER (PARTITION BY {by} ORDER BY "
            f"{ROW} DESC) AS _rn FROM parquet.`{checked_dir}` WHERE NOT {BAD}) WHERE _rn > 1"
        ).write.parquet(str(repeated))
    if not key or not _rows_in(repeated):
        return combine(
            checked_dir,
            job.silver_url,
            columns=[*columns, BAD],
            rows=_valid(number),
            keep_parts=True,
        )
    parts = tmp / f"parts-{uuid.uuid4().hex}"
    valid = spark.read.parquet(str(checked_dir)).where(f"NOT {BAD}").select(*columns)
    kept = valid.join(spark.read.parquet(str(repeated)), ROW, "left_anti").select(*columns)
    kept.write.parquet(str(parts))
    return combine(parts, job.silver_url, rows=_numbered(number))


def _rows_in(parts_dir: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in parts_dir.glob("part-*.parquet"))


def _numbered(number: Callable[[pa.Array], pa.Array]) -> Callable[[pa.Table], pa.Table]:
    def rows(table: pa.Table) -> pa.Table:
        at = table.schema.get_field_index(ROW)
        return table.set_column(at, ROW, number(table.column(ROW)))

    return rows


def _valid(number: Callable[[pa.Array], pa.Array]) -> Callable[[pa.Table], pa.Table]:
    renumber = _numbered(number)

    def rows(table: pa.Table) -> pa.Table:
        return renumber(table.filter(pc.invert(table.column(BAD))).drop_columns([BAD]))

    return rows


def _quarantined(
    number: Callable[[pa.Array], pa.Array], source: list[str]
) -> Callable[[pa.Table], pa.Table]:
    renumber = _numbered(number)

    def rows(table: pa.Table) -> pa.Table:
        bad = renumber(table.filter(table.column(BAD)).drop_columns([BAD]))
        return bad.rename_columns([*source, *bad.column_names[len(source) :]])

    return rows


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
