"""A batch of small landed files validated in one pass (decision 0039).

One `read_csv` over every file of the batch (each row knows its file: `file_index`), one
typed and checked table, one partitioned write of silver and one of quarantine, and one query
per count; then each file gets what `validate` would have given it alone: its own silver and
quarantine file, its row numbers (`_source_row` counts from its own first data row), its
lineage, its rule counts and its verdict. A file the combined pass cannot take exactly as a
single run would (a line that cannot be split, a read error, a format other than CSV) is
validated alone; a read error of the whole pass splits it in halves until the file that
causes it is alone.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from medalist.config import Format
from medalist.contracts.rules import (
    Reading,
    checked_sql,
    ident,
    literal,
    quarantine_sql,
    row_checks_only,
    silver_sql,
)
from medalist.engine import Validation, ValidationJob, validate_each
from medalist.engine.duckdb.base import _PARQUET
from medalist.engine.duckdb.errors import _refuse_file
from medalist.engine.duckdb.reader import reader_sql
from medalist.engine.duckdb.streaming import StreamingValidation
from medalist.errors import InputError

PASS_BYTES = 64 * 2**20  # landed bytes per combined pass: its table stays small in memory
# Files per pass: its partitioned writes hold a Parquet file open per file (a batch of 1,000
# tiny files would otherwise open 1,000 at once, near a common limit of 1,024 descriptors).
PASS_FILES = 250
FILE = "_batch_file"  # a row's file: its place in the pass's list of files
_SLOTS = "batch-"  # the folder of an engine's partitioned writes, in its temp folder
LINEAGE = "_run_id, _source_file, _ingested_at"  # columns of the pass's `batch_files`
Results = list[Validation | InputError | None]  # None: not validated yet


class BatchValidation(StreamingValidation):
    """`validate_many`: files delivered alike through one engine pass."""

    validate: Callable[[ValidationJob], Validation]  # the engine's, for a file alone
    _slot_dir: Path | None = None  # partitioned writes' folders, made by the first

    def validate_many(self, jobs: Sequence[ValidationJob]) -> list[Validation | InputError]:
        results: Results = [None] * len(jobs)
        if len(jobs) > 1 and _combinable(jobs):
            for chunk in _chunks(jobs):
                self._combined(jobs, chunk, results)
        alone = [i for i, found in enumerate(results) if found is None]
        for i, found in zip(
            alone, validate_each(self.validate, [jobs[i] for i in alone]), strict=True
        ):
            results[i] = found
        return [found for found in results if found is not None]

    def _combined(self, jobs: Sequence[ValidationJob], chunk: list[int], results: Results) -> None:
        """Validate the files `chunk` names in one pass, filling their `results`; a file
        the pass cannot take exactly as `validate` would is left None (validated alone)."""
        if len(chunk) < 2:
            return
        batch = [jobs[i] for i in chunk]
        try:
            self._land_all(batch)
        except duckdb.Error:  # one file cannot be read: halve until it is alone
            half = len(chunk) // 2
            self._combined(jobs, chunk[:half], results)
            self._combined(jobs, chunk[half:], results)
            return
        try:
            alone = self._with_rejects()
            passed = self._check_all(batch, alone)
            for place, found in passed.items():
                results[chunk[place]] = found
        finally:
            self.con.execute(
                "DROP VIEW IF EXISTS batch_landed; DROP TABLE IF EXISTS batch_read; "
                "DROP TABLE IF EXISTS batch_firsts; DROP TABLE IF EXISTS batch_checked; "
                "DROP TABLE IF EXISTS batch_silver; DROP TABLE IF EXISTS batch_files; "
                "DROP TABLE IF EXISTS medalist_rejects; DROP TABLE IF EXISTS medalist_scans"
            )

    def _land_all(self, batch: list[ValidationJob]) -> None:
        """View `batch_landed`: every file's rows as delivered (text), with FILE and each
        row's place in its own file (`_source_row`); table `batch_files`: each file's lineage."""
        first = batch[0].file
        header = self._fetch(f"DESCRIBE SELECT * FROM {reader_sql(first, as_text=True)}")
        reader = reader_sql(
            first,
            as_text=True,
            rejects=True,
            urls=[j.file.url for j in batch],
            columns=[name for name, *_ in header],
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE batch_read AS SELECT *, file_index AS {FILE} "
            f"FROM {reader}"
        )
        # Rows keep their order in the table (file by file): a row's place in its file is
        # its distance from the file's first row. A view, not a second copy of every row
        # (0.15-0.3 s a pass of 250 files).
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE batch_firsts AS SELECT {FILE}, min(rowid) AS first "
            f"FROM batch_read GROUP BY {FILE}"
        )
        self.con.execute(
            "CREATE OR REPLACE TEMP VIEW batch_landed AS SELECT l.rowid - f.first + 1 AS "
            f"_source_row, l.* FROM batch_read l JOIN batch_firsts f USING ({FILE})"
        )
        values = ", ".join(
            f"({i}, {literal(j.run_id)}, {literal(j.source_file)}, "
            f"CAST({literal(j.ingested_at.isoformat())} AS TIMESTAMPTZ))"
            for i, j in enumerate(batch)
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE batch_files AS SELECT * FROM (VALUES {values}) "
            f"AS f({FILE}, {LINEAGE})"
        )

    def _with_rejects(self) -> set[int]:
        """Files with a line the reader could not split (or could not decode): their row
        numbers and quarantine need the single-file pass, so they leave the combined one."""
        found = self._fetch("SELECT DISTINCT file_id FROM medalist_rejects")
        files = {int(f) for (f,) in found}
        if files:
            listed = ", ".join(str(f) for f in files)
            self.con.execute(f"DELETE FROM batch_read WHERE {FILE} IN ({listed})")
        return files

    def _check_all(
        self, batch: list[ValidationJob], alone: set[int]
    ) -> dict[int, Validation | InputError]:
        """Check every row, count per file, refuse the files that must fail, then write the
        others' silver and quarantine; place in the batch -> its result."""
        job = batch[0]
        dataset = job.dataset
        columns = [c for c, *_ in self._fetch("DESCRIBE batch_landed")[1:-1]]  # as delivered
        reading = Reading(
            dict.fromkeys(columns, "VARCHAR"),
            job.mapping,
            job.extras,
            decimal_comma=job.file.csv.decimal_separator == ",",
            dataset_name=job.dataset_name,
        )
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE batch_checked AS "
            + checked_sql(dataset, "batch_landed", reading, carry=(FILE,))
        )
        counts = self._counts(len(batch), dataset.primary_key)
        rules = self._rule_counts_by_file()
        results: dict[int, Validation | InputError] = {}
        kept: list[int] = []
        for place, each in enumerate(batch):
            if place in alone:
                continue
            rows_in, rows_bad, _ = counts[place]
            rule_counts, first_rows = rules.get(place, ({}, {}))
            try:
                _refuse_file(each, rows_in, rows_bad, rule_counts, first_rows)
            except InputError as err:
                results[place] = err
                continue
            kept.append(place)
        if not kept:
            return results
        silver = self._write_silver(
            batch, kept, {p: counts[p][0] - counts[p][1] for p in kept if not counts[p][2]}
        )
        self._write_quarantine(batch, [p for p in kept if counts[p][1]], reading)
        for place in kept:
            rows_in, rows_bad, _ = counts[place]
            rule_counts = dict(rules.get(place, ({}, {}))[0])
            duplicates = rows_in - rows_bad - silver.get(place, 0)
            if duplicates:
                rule_counts["primary_key:duplicate"] = duplicates
            results[place] = Validation(
                rows_in, silver.get(place, 0), rows_bad, duplicates, rule_counts
            )
        return results

    def _counts(self, files: int, primary_key: list[str]) -> list[tuple[int, int, int]]:
        """Per file: (rows, rows breaking a rule, how often a primary key repeats among the
        others), counted as `validate` counts them."""
        key = [ident(c) for c in primary_key]
        distinct = f"({', '.join(key)})" if len(key) > 1 else (key[0] if key else "NULL")
        repeats = (
            f"count(*) FILTER (len(_rules) = 0) - count(DISTINCT {distinct}) "
            "FILTER (len(_rules) = 0)"
            if key
            else "0"
        )
        found = self._fetch(
            f"SELECT {FILE}, count(*), count(*) FILTER (len(_rules) > 0), {repeats} "
            f"FROM batch_checked GROUP BY {FILE}"
        )
        counts = [(0, 0, 0)] * files
        for place, rows, bad, repeated in found:
            counts[int(place)] = (int(rows), int(bad), int(repeated))
        return counts

    def _rule_counts_by_file(self) -> dict[int, tuple[dict[str, int], dict[str, int]]]:
        """Per file: rows per rule broken and the first row breaking each (`_rule_counts`)."""
        found = self._fetch(
            f"SELECT {FILE}, rule, count(*), min(_source_row) FROM (SELECT {FILE}, "
            "unnest(_rules) AS rule, _source_row FROM batch_checked WHERE len(_rules) > 0) "
            f"GROUP BY ALL ORDER BY {FILE}, rule"
        )
        by_file: dict[int, tuple[dict[str, int], dict[str, int]]] = {}
        for place, rule, rows, first in found:
            counted, firsts = by_file.setdefault(int(place), ({}, {}))
            counted[rule], firsts[rule] = int(rows), int(first)
        return by_file

    def _write_silver(
        self, batch: list[ValidationJob], kept: list[int], valid: dict[int, int]
    ) -> dict[int, int]:
        """Every kept file's silver, written at once and moved to its own file; place ->
        its silver rows. Valid rows, with the last row of a repeated key kept as `validate`
        keeps it (order_column, then place in the file). `valid`: the valid rows of each
        file whose keys do not repeat, which are its silver rows."""
        dataset = batch[0].dataset
        checked = (
            f"(SELECT c.*, {LINEAGE} FROM batch_checked c JOIN batch_files USING ({FILE}) "
            f"WHERE len(_rules) = 0 AND {FILE} IN ({_listed(kept)}))"
        )
        rows = silver_sql(dataset, checked, LINEAGE, batch[0].extras, dedupe_needed=False)
        urls = {batch[p].run_id: batch[p].silver_url for p in kept}
        if len(valid) == len(kept):  # silver is the valid rows: written straight, not held
            self._write_per_run(rows, urls)
            return valid
        key = ", ".join(ident(c) for c in dataset.primary_key)
        by = dataset.order_column
        order = f"{ident(by)} DESC NULLS LAST, " if by else ""
        rows += (
            f" QUALIFY row_number() OVER (PARTITION BY _run_id, {key} "
            f"ORDER BY {order}_source_row DESC) = 1"
        )
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE batch_silver AS {rows}")
        by_run = {batch[p].run_id: p for p in kept}
        counted = {
            by_run[run]: int(n)
            for run, n in self._fetch("SELECT _run_id, count(*) FROM batch_silver GROUP BY ALL")
        }
        self._write_per_run("SELECT * FROM batch_silver", urls)
        return counted

    def _write_quarantine(
        self, batch: list[ValidationJob], places: list[int], reading: Reading
    ) -> None:
        """The quarantine file of each file in `places` (those with broken rows)."""
        if not places:
            return
        broken = (
            f"(SELECT c.*, {LINEAGE} FROM batch_checked c JOIN batch_files USING ({FILE}) "
            f"WHERE {FILE} IN ({_listed(places)}))"
        )
        self._write_per_run(
            quarantine_sql(reading.source_columns, broken, LINEAGE),
            {batch[p].run_id: batch[p].quarantine_url for p in places},
        )

    def _write_per_run(self, sql: str, urls: dict[str, str]) -> None:
        """`sql`'s rows (with `_run_id`) into one Parquet file per run, at `urls[run]`; a run
        without rows gets an empty file, as `validate` writes one.

        The partitioned write goes by the file's place in the pass (FILE), not its run id,
        into folders this engine keeps for its whole life (`_slots`): the same PASS_FILES
        folders serve every pass and both zones, where one folder per run and zone cost a
        mkdir and an rmdir each (an rmdir is 1.5-2 ms on this machine's file system: 2,000
        of them were 2-4 s of a 1,000-file burst)."""
        folder = self._slots()
        opened = self._fetch("SELECT current_setting('partitioned_write_max_open_files')")[0][0]
        slotted = f"SELECT w.*, f.{FILE} FROM ({sql}) w JOIN batch_files f ON w._run_id = f._run_id"
        try:
            self.con.execute(f"SET partitioned_write_max_open_files = {len(urls) + 1}")
            self.con.execute(
                f"COPY ({slotted}) TO {literal(str(folder))} ({_PARQUET}, PARTITION_BY ({FILE}))"
            )
            slots = dict(self._fetch(f"SELECT _run_id, {FILE} FROM batch_files"))
            for run, url in urls.items():
                parts = sorted((folder / f"{FILE}={slots[run]}").glob("*.parquet"))
                if len(parts) == 1 and "://" not in url:
                    shutil.move(parts[0], url)
                    continue
                files = "[" + ", ".join(literal(str(p)) for p in parts) + "]"
                rows = (
                    f"SELECT * FROM read_parquet({files}, hive_partitioning = false)"
                    if parts
                    else f"SELECT * FROM ({sql}) WHERE false"
                )
                self.con.execute(f"COPY ({rows}) TO {literal(url)} ({_PARQUET})")
        finally:
            self.con.execute(f"SET partitioned_write_max_open_files = {opened}")
            for left in folder.glob("*/*"):  # the folders stay for the next write
                left.unlink(missing_ok=True)

    def _slots(self) -> Path:
        """The folder of this engine's partitioned writes (removed by `close`)."""
        if self._slot_dir is None:
            self._slot_dir = Path(tempfile.mkdtemp(prefix=_SLOTS, dir=self._temp_dir))
        return self._slot_dir

    def _remove_slots(self) -> None:
        if self._slot_dir is not None:
            shutil.rmtree(self._slot_dir, ignore_errors=True)
            self._slot_dir = None


def _combinable(jobs: Sequence[ValidationJob]) -> bool:
    """Whether the files may share one pass: CSV delivered alike, every rule about one row
    (no rule reads silver or the whole file), nothing streamed to a tap."""
    first = jobs[0]
    return all(
        j.file.format in (Format.csv, Format.tsv)
        and j.tap is None
        and row_checks_only(j.dataset)
        and (j.file.format, j.file.csv, j.file.delimiter, j.file.url.endswith(".gz"))
        == (first.file.format, first.file.csv, first.file.delimiter, first.file.url.endswith(".gz"))
        and (j.dataset_name, j.dataset, j.mapping, j.extras)
        == (first.dataset_name, first.dataset, first.mapping, first.extras)
        for j in jobs
    )


def _chunks(jobs: Sequence[ValidationJob]) -> list[list[int]]:
    """Places of the jobs, in runs of at most PASS_BYTES landed bytes and PASS_FILES files."""
    chunks: list[list[int]] = [[]]
    size = 0
    for i, job in enumerate(jobs):
        if chunks[-1] and (size + job.file.size > PASS_BYTES or len(chunks[-1]) >= PASS_FILES):
            chunks.append([])
            size = 0
        chunks[-1].append(i)
        size += job.file.size
    return chunks


def _listed(places: list[int]) -> str:
    return ", ".join(str(p) for p in places)
