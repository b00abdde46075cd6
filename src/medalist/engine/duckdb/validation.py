"""Validation over a table of the rows as delivered: rules that need a row's place in the file
or the whole file (unique, references, warn and fail rules); quarantine, rule counts, rejects."""

from __future__ import annotations

import duckdb

from medalist.config import Format, OnFail
from medalist.contracts.rules import (
    Reading,
    checked_sql,
    ident,
    literal,
    quarantine_sql,
    silver_sql,
)
from medalist.engine import FileSpec, Validation, ValidationJob
from medalist.engine.duckdb.errors import _refuse_file, _unreadable
from medalist.engine.duckdb.reader import Reader
from medalist.errors import InputError

IN_MEMORY_SHARE = 0.5  # landed files up to this share of the memory budget stay in memory


class TableValidation(Reader):
    """Validation with the landed rows in a table, and what both kinds of validation share."""

    def _validate_table(
        self, job: ValidationJob, source: str, reading: Reading, lineage: str
    ) -> Validation:
        """Rules that need a row's place in the file or the whole file (unique, references,
        warn and fail rules): the rows as delivered in a table, the contract over all of it."""
        file, dataset = job.file, job.dataset
        csv = file.format in (Format.csv, Format.tsv)
        try:
            self._place_landed(file)
            self.con.execute(f"CREATE OR REPLACE TABLE {self._landed} AS SELECT * FROM {source}")
        except duckdb.Error as exc:
            raise _unreadable(exc, file.url, file.format) from None
        malformed = self._set_rejects_aside(file) if csv else 0
        numbered = (
            f"(SELECT {_renumbered('landed.rowid + 1')} AS _source_row, * "
            f"FROM {self._landed} AS landed)"
            if malformed
            else f"(SELECT rowid + 1 AS _source_row, * FROM {self._landed})"
        )
        self.con.execute(
            "CREATE OR REPLACE TEMP VIEW checked AS " + checked_sql(dataset, numbered, reading)
        )
        valid = "(SELECT * FROM checked WHERE len(_rules) = 0)"
        silver = silver_sql(dataset, valid, lineage, job.extras, dedupe_needed=False)
        rows_silver = self.materialize(silver, job.silver_url)
        landed = int(self._fetch(f"SELECT count(*) FROM {self._landed}")[0][0])
        repeats = bool(dataset.primary_key) and self._key_repeats(job)
        if repeats:  # rare: write silver again, keeping the last row of each key
            silver = silver_sql(dataset, valid, lineage, job.extras, dedupe_needed=True)
            rows_silver = self.materialize(silver, job.silver_url)
        rows_bad = 0
        if repeats or malformed or rows_silver < landed:
            rows_bad = self._quarantine(job, reading, None, lineage, malformed)
        return self._conclude(job, landed + malformed, rows_silver, rows_bad)

    def _quarantine(
        self,
        job: ValidationJob,
        reading: Reading,
        broken: str | None,
        lineage: str,
        malformed: int,
    ) -> int:
        """Write the quarantine file: rows that broke a rule (from `broken`, the broken rows'
        delivered text, or from the `checked` view already over every row when None), and
        lines that could not be split. Returns its rows."""
        if broken is not None:
            self.con.execute(
                "CREATE OR REPLACE TEMP VIEW checked AS "
                + checked_sql(job.dataset, broken, reading)
            )
        quarantine = quarantine_sql(reading.source_columns, "checked", lineage)
        if malformed:
            quarantine += " UNION ALL BY NAME " + _malformed_sql(lineage)
        return self.materialize(quarantine, job.quarantine_url)

    def _conclude(
        self, job: ValidationJob, rows_in: int, rows_silver: int, rows_bad: int
    ) -> Validation:
        """Rule counts, the file's verdict (InputError when it must fail), and the counts."""
        rule_counts, first_rows = self._rule_counts(job, quarantined=rows_bad > 0)
        _refuse_file(job, rows_in, rows_bad, rule_counts, first_rows)
        duplicates = rows_in - rows_bad - rows_silver
        if duplicates:
            rule_counts["primary_key:duplicate"] = duplicates
        return Validation(rows_in, rows_silver, rows_bad, duplicates, rule_counts)

    def _rewrite_silver(self, job: ValidationJob, *, renumber: bool, dedupe: bool) -> int:
        """Silver written again from itself: row numbers shifted past the malformed lines
        before them, and/or one row per primary key (the last in the file)."""
        rows = f"SELECT * FROM read_parquet({literal(job.silver_url)})"
        if renumber:
            rows = (
                f"SELECT * REPLACE ({_renumbered('s._source_row')} AS _source_row) "
                f"FROM read_parquet({literal(job.silver_url)}) AS s"
            )
        if dedupe:
            key = ", ".join(ident(c) for c in job.dataset.primary_key)
            by = job.dataset.order_column  # e.g. Airbyte's extraction time, then file order
            order = f"{ident(by)} DESC NULLS LAST, " if by else ""
            rows += (
                f" QUALIFY row_number() OVER (PARTITION BY {key} "
                f"ORDER BY {order}_source_row DESC) = 1"
            )
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE silver_again AS {rows}")
        try:
            return self.materialize("SELECT * FROM silver_again", job.silver_url)
        finally:
            self.con.execute("DROP TABLE silver_again")

    def _place_landed(self, file: FileSpec) -> None:
        """Keep the landed rows in memory (fastest), or, for a file that may not fit in half
        the memory budget, in a scratch database file: its pages are compressed and leave
        memory once written, so a bigger file costs disk, not RAM (5M rows: 531 MB peak
        instead of 803 MB, for 1.5 s more; docs/decisions/0010-one-pass-validation.md)."""
        packed = 4 if file.url.endswith(".gz") or file.format == Format.parquet else 1
        if self._scratch is None or file.size * packed <= self._budget * IN_MEMORY_SHARE:
            self._landed = "landed"
            return
        if self._landed != "scratch.landed":
            self.con.execute(f"ATTACH {literal(str(self._scratch))} AS scratch")
            self._landed = "scratch.landed"

    def _key_repeats(self, job: ValidationJob) -> bool:
        """Whether a primary key repeats among the rows just written to silver: counted on the
        typed key in Parquet, which is cheaper than on the delivered text."""
        key = [ident(c) for c in job.dataset.primary_key]
        distinct = f"({', '.join(key)})" if len(key) > 1 else key[0]
        found = self._fetch(
            f"SELECT count(*) - count(DISTINCT {distinct}) FROM read_parquet("
            f"{literal(job.silver_url)})"
        )
        return bool(found[0][0])

    def _rule_counts(
        self, job: ValidationJob, *, quarantined: bool
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Rows per rule broken, and the first row that broke each: quarantining rules from the
        quarantine file, warn and fail rules (whose rows are not quarantined) from `checked`."""
        parts = []
        if quarantined:
            parts.append(
                f"SELECT unnest(_rules) AS rule, _source_row FROM read_parquet("
                f"{literal(job.quarantine_url)})"
            )
        if any(r.on_fail != OnFail.quarantine for r in job.dataset.rules):
            parts.append("SELECT unnest(_warnings || _fails) AS rule, _source_row FROM checked")
        if not parts:
            return {}, {}
        rows = self._fetch(
            f"SELECT rule, count(*), min(_source_row) FROM ({' UNION ALL '.join(parts)}) "
            "GROUP BY rule ORDER BY rule"
        )
        return {r: int(n) for r, n, _ in rows}, {r: int(first) for r, _, first in rows}

    def _set_rejects_aside(self, file: FileSpec) -> int:
        """Lines DuckDB could not split into the header's fields become table `rejected`
        (data_row, line, message, n); returns how many. An encoding error is the file's
        problem, not a row's: InputError."""
        try:
            encoding = self._fetch(
                "SELECT line, error_message FROM medalist_rejects "
                "WHERE error_type = 'INVALID ENCODING' ORDER BY line LIMIT 1"
            )
            if encoding:
                line, _ = encoding[0]
                raise InputError(
                    f"is not valid {file.csv.encoding} text (first bad byte on line {line})",
                    row=int(line) - file.header_lines,
                    fix="Declare the file's encoding, e.g. `csv: {encoding: latin-1}` for the "
                    "dataset in pipeline.yaml, or re-export the file as UTF-8.",
                )
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE rejected AS SELECT data_row, line, message, "
                "row_number() OVER (ORDER BY data_row) AS n FROM (SELECT "
                f"line - {file.header_lines} AS data_row, any_value(csv_line) AS line, "
                "arg_min(error_message, byte_position) AS message FROM medalist_rejects "
                "GROUP BY line)"
            )
            return int(self._fetch("SELECT count(*) FROM rejected")[0][0])
        finally:
            self.con.execute("DROP TABLE IF EXISTS medalist_rejects")
            self.con.execute("DROP TABLE IF EXISTS medalist_scans")


def _renumbered(row: str) -> str:
    """A row number counted among the rows DuckDB could split, as the file's data row: past
    every malformed line (in `rejected`) before it. `row` must name its table (`rejected`
    has a rowid of its own)."""
    return f"{row} + (SELECT count(*) FROM rejected r WHERE r.data_row - r.n < {row})"


def _malformed_sql(lineage: str) -> str:
    """Quarantine rows for lines that could not be split into fields: the line as delivered."""
    return (
        "SELECT ['row:malformed'] AS _rules, message || ' (line kept in _raw_line)' AS _reason, "
        f"line AS _raw_line, {lineage}, data_row AS _source_row FROM rejected"
    )
