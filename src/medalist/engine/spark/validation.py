"""A landed file split into silver and quarantine on Spark, reading the file once (decision
0040): one Spark job types and checks every row and writes them all ("checked", with `_bad`);
the driver reads them once (decision 0048), numbering them as DuckDB does from the rows per
split the part files' footers give, counting rows and rules, and writing silver (streamed to
the load-ahead tap too) and quarantine. A primary key that does not only rise costs one more
job over the key alone, and a rewrite of silver only when a key repeats in the file."""

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
from medalist.engine.spark.rows import BAD, LISTS, ROW, Census, census, rows_per_split
from medalist.engine.spark.writer import Output, batches, combine, part_files, write_parts
from medalist.engine.split import RisingKeys, TapThread
from medalist.errors import InputError

LINEAGE = ("_run_id", "_source_file", "_ingested_at")
_MALFORMED = " (line kept in _raw_line)"


def validate(spark: Any, tmp: Path, delivered: list[str] | None, job: ValidationJob) -> Validation:
    """Type and check `job.file` against its contract; write silver and quarantine (as the
    DuckDB engine writes them); InputError when the file as a whole fails."""
    file = job.file
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
        write_parts(checked, checked_dir)
    except Exception as exc:  # the reader's error, in our words
        raise _unreadable(exc, file) from None
    parts = part_files(checked_dir)
    per_split = rows_per_split(parts)
    if per_split is None:  # the footers cannot say: count the rows of each split first
        per_split = census(parts).per_split
    split = _Split(job, source, Census(per_split=per_split))
    try:
        split.run(parts)
        found, number = split.found, split.number
        rows_silver = split.silver.rows
        if split.repeats():  # a key may repeat: silver again when one does, last row per key
            deduped = _deduped(spark, tmp, job, checked_dir, number)
            if deduped is not None:
                split.untap()
                rows_silver = deduped
        rule_counts, first_rows = dict(found.rule_rows), found.first_rows(number)
        _refuse_file(job, found.rows, found.bad, rule_counts, first_rows)
        tapped = split.finish()
    except BaseException:
        split.untap()
        raise
    duplicates = found.rows - found.bad - rows_silver
    if duplicates:
        rule_counts["primary_key:duplicate"] = duplicates
    return Validation(found.rows, rows_silver, found.bad, duplicates, rule_counts, tapped)


class _Split:
    """One read of the checked parts on the driver, in file order (decision 0048): each
    batch is counted (rows, broken rows, rules), its valid rows go to silver (and to the
    job's tap) and its broken rows to quarantine, numbered as DuckDB numbers them; whether
    the primary key only rises is watched on the way."""

    def __init__(self, job: ValidationJob, source: list[str], found: Census) -> None:
        self.job, self.source, self.found = job, source, found
        self.number = found.numbering()
        self.silver_columns = [*job.dataset.columns, *job.extras, *LINEAGE, ROW]
        raw = [RAW + c for c in source]
        self.quarantine_columns = [*raw, "_rules", "_reason", "_raw_line", *LINEAGE, ROW]
        self.silver = Output(job.silver_url)
        self.quarantine = Output(job.quarantine_url)
        key = job.dataset.primary_key
        self.key = key[0] if len(key) == 1 else None
        self.keys = RisingKeys()
        self._counted = Census()
        self._tap: TapThread | None = None

    def run(self, parts: list[Path]) -> None:
        wanted = list(dict.fromkeys([*self.silver_columns, *self.quarantine_columns, BAD]))
        wanted += [c for c in LISTS if c not in wanted]
        renamed = dict(zip([RAW + c for c in self.source], self.source, strict=True))
        try:
            for table in batches(parts, wanted):
                self._counted.add(table)
                bad = table.column(BAD)
                valid = self._numbered(table.select(self.silver_columns).filter(pc.invert(bad)))
                self._to_silver(valid)
                broken = table.select(self.quarantine_columns).filter(bad)
                if broken.num_rows:
                    broken = self._numbered(broken)
                    self.quarantine.write(
                        broken.rename_columns([renamed.get(c, c) for c in broken.column_names])
                    )
            if not self.silver.opened:  # no rows at all: silver exists, empty
                empty = pq.ParquetFile(parts[0]).schema_arrow.empty_table()
                self.silver.open(empty.select(self.silver_columns).schema)
        finally:
            self.silver.close()
            self.quarantine.close()
            if self._tap is not None:
                self._tap.end()
        if self._counted.per_split != self.found.per_split:
            raise RuntimeError("the checked rows of a split are not the ones its footer counts")
        self._counted.per_split = self.found.per_split
        self.found = self._counted

    def repeats(self) -> bool:
        """Whether a primary key may repeat in silver (it is not one column that only rises)."""
        return bool(self.job.dataset.primary_key) and not (self.key and self.keys.rising)

    def finish(self) -> bool:
        """Wait for the tap: True when it took exactly silver's rows."""
        tap, self._tap = self._tap, None
        return tap.join() if tap is not None else False

    def untap(self) -> None:
        """Silver is not what the tap took (or the run failed): stop it."""
        tap, self._tap = self._tap, None
        if tap is not None:
            tap.fail(RuntimeError("silver was not written as streamed"))
            tap.join()

    def _to_silver(self, valid: pa.Table) -> None:
        if not valid.num_rows:
            return
        self.silver.write(valid)
        if self.key is not None:
            self.keys.see(valid.column(self.key))
        if self.job.tap is not None:
            if self._tap is None:
                self._tap = TapThread(self.job.tap, valid.schema)
            for batch in valid.to_batches():
                self._tap.put(batch)

    def _numbered(self, table: pa.Table) -> pa.Table:
        at = table.schema.get_field_index(ROW)
        return table.set_column(at, ROW, self.number(table.column(ROW).combine_chunks()))


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


def _deduped(
    spark: Any,
    tmp: Path,
    job: ValidationJob,
    checked_dir: Path,
    number: Callable[[pa.Array], pa.Array],
) -> int | None:
    """Silver again, one row per primary key (the last in the file wins), when a key
    repeats: its rows, or None when none does (silver stays as written). A job over the key
    alone finds the rows a later row replaces; only when there are some does Spark write
    silver again without them."""
    columns = [*job.dataset.columns, *job.extras, *LINEAGE, ROW]
    by = ", ".join(SPARK.ident(c) for c in job.dataset.primary_key)
    repeated = tmp / f"repeated-{uuid.uuid4().hex}"
    found = spark.sql(
        f"SELECT {ROW} FROM (SELECT {ROW}, row_number() OVER (PARTITION BY {by} ORDER BY "
        f"{ROW} DESC) AS _rn FROM parquet.`{checked_dir}` WHERE NOT {BAD}) WHERE _rn > 1"
    )
    write_parts(found, repeated)
    if not _rows_in(repeated):
        return None
    parts = tmp / f"parts-{uuid.uuid4().hex}"
    valid = spark.read.parquet(str(checked_dir)).where(f"NOT {BAD}").select(*columns)
    kept = valid.join(spark.read.parquet(str(repeated)), ROW, "left_anti").select(*columns)
    write_parts(kept, parts)
    return combine(parts, job.silver_url, rows=_numbered(number))


def _rows_in(parts_dir: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in part_files(parts_dir))


def _numbered(number: Callable[[pa.Array], pa.Array]) -> Callable[[pa.Table], pa.Table]:
    def rows(table: pa.Table) -> pa.Table:
        at = table.schema.get_field_index(ROW)
        return table.set_column(at, ROW, number(table.column(ROW)))

    return rows


def _unreadable(exc: Exception, file: FileSpec) -> InputError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(
        f"cannot be read as {file.format.value}: {first[:300]}",
        path=Path(file.url).name if "://" not in file.url else file.url,
        fix="Fix the file and land it under a new name (a landed file is never replaced), "
        "or set the dataset's `format:` if it is not " + file.format.value + ".",
    )


def _delimiter(file: FileSpec) -> str:
    return file.csv.delimiter or file.delimiter or ("\t" if file.format == Format.tsv else ",")
