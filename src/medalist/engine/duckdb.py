"""DuckDB as the engine: reads, validates and writes out of core (spilling to disk)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, cast

import duckdb
import pyarrow as pa
from duckdb.sqltypes import DuckDBPyType

from medalist.config import Format, OnFail
from medalist.contracts.rules import (
    Reading,
    as_delivered,
    checked_sql,
    ident,
    lean_sql,
    literal,
    quarantine_sql,
    row_checks_only,
    silver_sql,
)
from medalist.engine import FileSpec, Validation, ValidationJob
from medalist.engine.split import SplitStream
from medalist.errors import InputError
from medalist.incremental import INCOMING

CSV_BUFFER_BYTES = 4 * 2**20  # twice the longest line DuckDB reads (max_line_size, 2 MB)
BATCH_ROWS = 25_000  # rows per Arrow batch streamed (5M rows: 620 MB peak; 100k rows: 770 MB)
_TAG = "medalist_tag"  # Parquet key-value metadata: what a gold version was built from
_SCRATCH = "scratch-"  # scratch database files in the engine's temp folder
IN_MEMORY_SHARE = 0.5  # landed files up to this share of the memory budget stay in memory
_STALE_S = 24 * 3600  # a scratch file this old was left by a process that died
_BROKEN = "broken-"  # broken rows of a streamed file, set aside for quarantine
_PARQUET = "FORMAT parquet, COMPRESSION zstd"
_LINE = re.compile(r"(?:on|in) line:?\s*(\d+)", re.IGNORECASE)


def reader_sql(file: FileSpec, *, as_text: bool, rejects: bool = False) -> str:
    """The DuckDB table function that reads one landed file. `as_text` keeps CSV values as
    delivered (strings), so a value that does not fit its type can be quarantined verbatim;
    `rejects` sets lines that cannot be split into fields aside (in `medalist_rejects`)."""
    src = literal(file.url)
    match file.format:
        case Format.csv | Format.tsv:
            csv = file.csv
            delimiter = (
                csv.delimiter or file.delimiter or ("\t" if file.format == Format.tsv else ",")
            )
            options = [
                f"header = {literal(csv.header)}",
                f"delim = {literal(delimiter)}",
                f"quote = {literal(csv.quote)}",
                f"escape = {literal(csv.escape or csv.quote)}",
                f"encoding = {literal(csv.encoding)}",
                f"skip = {csv.skip_rows}",
                "nullstr = [" + ", ".join(literal(v) for v in csv.null_values) + "]",
            ]
            if as_text:
                # Small read buffers keep the reader's memory flat: with DuckDB's default
                # (32 MB) it grew with the file, 210 MB at 1M rows, 330 MB at 5M.
                options += ["all_varchar = true", f"buffer_size = {CSV_BUFFER_BYTES}"]
            else:  # describing: a few broken lines must not hide the header's columns
                options.append("ignore_errors = true")
            if rejects:
                options.append(
                    "store_rejects = true, rejects_table = 'medalist_rejects', "
                    "rejects_scan = 'medalist_scans'"
                )
            return f"read_csv({src}, {', '.join(options)})"
        case Format.jsonl:
            return f"read_json({src}, format = 'newline_delimited')"
        case Format.json:
            return f"read_json({src}, format = 'array')"
        case Format.parquet:
            return f"read_parquet({src})"


class DuckDBEngine:
    """One in-memory DuckDB per run, with a memory ceiling and a spill folder (always local).

    `filesystem`: an fsspec filesystem registered on the connection, through which DuckDB
    reads and writes its URLs (s3fs for a lake on S3: `read_csv`, `read_parquet` and
    `COPY … TO 's3://…'` stream objects in ranges and parts, never a whole file)."""

    def __init__(
        self,
        memory_limit: str = "768MB",
        temp_dir: Path | None = None,
        filesystem: Any | None = None,
    ) -> None:
        _use_system_allocator()
        # No TimeZone setting: it needs the ICU extension, which cannot be downloaded here;
        # without ICU DuckDB works in UTC, which is what we want anyway.
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit,
            # DuckDB caches the blocks of files it reads, for the next read; a landed file is
            # read once, so the cache only takes memory (a scan of 20M CSV rows: 208 MB
            # peak with it, 156 MB without).
            "enable_external_file_cache": False,
        }
        self._scratch: Path | None = None
        self._temp_dir = temp_dir or Path(tempfile.gettempdir())
        if temp_dir is not None:
            temp_dir.mkdir(parents=True, exist_ok=True)
            config["temp_directory"] = str(temp_dir)
            self._scratch = temp_dir / f"{_SCRATCH}{uuid.uuid4().hex}.duckdb"
            _remove_stale_scratch(temp_dir)
        self.con = duckdb.connect(config=config)
        if filesystem is not None:
            self.con.register_filesystem(filesystem)
        self._budget = _bytes(self._fetch("SELECT current_setting('memory_limit')")[0][0])
        self._landed = "landed"
        self.con.execute(
            "CREATE SCHEMA IF NOT EXISTS silver; CREATE SCHEMA IF NOT EXISTS gold; "
            f"CREATE SCHEMA IF NOT EXISTS {INCOMING}"
        )

    def _fetch(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def _source(self, file: FileSpec, *, as_text: bool, rejects: bool = False) -> str:
        """A relation over the file: the reader, with nested JSON objects flattened."""
        reader = reader_sql(file, as_text=as_text, rejects=rejects)
        if file.format not in (Format.json, Format.jsonl):
            return reader
        rel = self.con.sql(f"SELECT * FROM {reader} LIMIT 0")
        columns: list[str] = []

        def walk(expr: str, name: str, dtype: DuckDBPyType) -> None:
            if dtype.id != "struct":
                columns.append(f"{expr} AS {ident(name)}")
                return
            if name in file.keep_nested:  # the contract wants the object whole: JSON text
                columns.append(f"CAST(to_json({expr}) AS VARCHAR) AS {ident(name)}")
                return
            for child, child_type in dtype.children:
                field = f"struct_extract({expr}, {literal(child)})"
                walk(field, f"{name}__{child}", cast(DuckDBPyType, child_type))

        for name, dtype in zip(rel.columns, rel.types, strict=True):
            walk(ident(name), name, dtype)
        return f"(SELECT {', '.join(columns)} FROM {reader})"

    def describe(self, file: FileSpec) -> dict[str, str]:
        try:
            rows = self._fetch(f"DESCRIBE SELECT * FROM {self._source(file, as_text=False)}")
        except duckdb.Error as exc:
            raise _unreadable(exc, file.url, file.format) from None
        return {name: str(kind) for name, kind, *_ in rows}

    def validate(self, job: ValidationJob) -> Validation:
        file, dataset = job.file, job.dataset
        csv = file.format in (Format.csv, Format.tsv)
        try:
            source = self._source(file, as_text=True, rejects=csv)
            described = self._fetch(f"DESCRIBE SELECT * FROM {source}")
        except duckdb.Error as exc:
            raise _unreadable(exc, file.url, file.format) from None
        source_columns = {name: str(kind) for name, kind, *_ in described}
        reading = Reading(
            source_columns,
            job.mapping,
            job.extras,
            decimal_comma=csv and file.csv.decimal_separator == ",",
            dataset_name=job.dataset_name,
        )
        lineage = (
            f"{literal(job.run_id)} AS _run_id, {literal(job.source_file)} AS "
            f"_source_file, CAST({literal(job.ingested_at.isoformat())} AS TIMESTAMPTZ)"
            f" AS _ingested_at"
        )
        try:
            if row_checks_only(dataset):
                return self._validate_streaming(job, source, reading, lineage)
            return self._validate_table(job, source, reading, lineage)
        finally:
            self.con.execute(
                "DROP VIEW IF EXISTS checked; DROP TABLE IF EXISTS rejected; "
                f"DROP TABLE IF EXISTS {self._landed}"
            )

    def _validate_streaming(
        self, job: ValidationJob, source: str, reading: Reading, lineage: str
    ) -> Validation:
        """One pass types and checks every row and streams it on (decisions 0010 and 0012):
        valid rows straight into silver, broken rows into a scratch file for quarantine, and
        silver's rows to the job's tap. Nothing is held whole, so memory does not grow with
        the file. A file with malformed lines or repeated keys has its silver rewritten after
        (row numbers shifted, last row per key kept), and the tap's rows are then not silver's."""
        file, dataset = job.file, job.dataset
        csv = file.format in (Format.csv, Format.tsv)
        broken_path = self._temp_dir / f"{_BROKEN}{uuid.uuid4().hex}.parquet"
        key = dataset.primary_key[0] if len(dataset.primary_key) == 1 else None
        split: SplitStream | None = None
        try:
            try:
                split, rows_silver = self._stream_silver(
                    job, source, reading, lineage, key, broken_path
                )
            except duckdb.Error as exc:
                raise _unreadable(exc, file.url, file.format) from None
            malformed = self._set_rejects_aside(file) if csv else 0
            # Keys that only ever increase cannot repeat: no need to count distinct keys.
            repeats = bool(dataset.primary_key) and not split.keys_increase
            repeats = repeats and self._key_repeats(job)
            split.close_broken()
            if malformed or repeats:
                split.abandon()
                rows_silver = self._rewrite_silver(job, renumber=bool(malformed), dedupe=repeats)
            rows_bad = 0
            if split.broken or malformed:
                broken = (
                    _broken_rows(broken_path, reading, renumber=bool(malformed))
                    if split.broken
                    else _no_rows(reading)
                )
                rows_bad = self._quarantine(job, reading, broken, lineage, malformed)
            result = self._conclude(job, split.rows + malformed, rows_silver, rows_bad)
            tapped = split.finish() if not (malformed or repeats) else False
            return dataclasses.replace(result, tapped=tapped)
        except BaseException:
            if split is not None:
                split.abandon()
            raise
        finally:
            broken_path.unlink(missing_ok=True)

    def _stream_silver(
        self,
        job: ValidationJob,
        source: str,
        reading: Reading,
        lineage: str,
        key: str | None,
        broken_path: Path,
    ) -> tuple[SplitStream, int]:
        """Write silver from the one-pass query, through a SplitStream; (the stream, rows)."""
        dataset = job.dataset
        lineage_values = {
            "_run_id": pa.scalar(job.run_id, pa.string()),
            "_source_file": pa.scalar(job.source_file, pa.string()),
            "_ingested_at": pa.scalar(job.ingested_at, pa.timestamp("us", tz="UTC")),
        }
        threads = int(self._fetch("SELECT current_setting('threads')")[0][0])
        # The stream's reader runs the one-pass query on the thread that pulls from it: one
        # thread more keeps the writer's threads busy (3.3 s instead of 3.8 s on 5M rows).
        self.con.execute(f"SET threads = {threads + 1}")
        try:
            reader = self.con.sql(lean_sql(dataset, source, reading)).to_arrow_reader(BATCH_ROWS)
            split = SplitStream(
                reader,
                broken_path,
                [*dataset.columns, *job.extras],
                lineage_values,
                key,
                job.tap,
            )
            # Silver's rows carry their place (_source_row): the writer need not keep their
            # order, which spares it holding batches back (5M rows: 490 MB peak, not 590).
            # The setting is the database's; the reader above was planned in order already.
            writer = self.con.cursor()
            try:
                writer.execute("SET preserve_insertion_order = false")
                writer.register("landed_stream", split.rows_reader())
                valid = "(SELECT * FROM landed_stream WHERE NOT _bad)"
                silver = silver_sql(dataset, valid, lineage, job.extras, dedupe_needed=False)
                rows = writer.execute(
                    f"COPY ({silver}) TO {literal(job.silver_url)} ({_PARQUET})"
                ).fetchall()
            finally:
                writer.close()
                reader.close()
        finally:
            self.con.execute(f"SET threads = {threads}; RESET preserve_insertion_order")
        return split, int(rows[0][0])

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

    def expose(
        self,
        schema: str,
        name: str,
        urls: list[str],
        columns: dict[str, str],
        latest_by: list[str],
        order_by: str | None = None,
    ) -> None:
        target = f"{ident(schema)}.{ident(name)}"
        if not urls:
            cols = ", ".join(f"CAST(NULL AS {kind}) AS {ident(c)}" for c, kind in columns.items())
            self.con.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT {cols} WHERE false")
            return
        files = "[" + ", ".join(literal(u) for u in urls) + "]"
        body = f"SELECT * FROM read_parquet({files}, union_by_name = true)"
        if latest_by and len(urls) > 1:  # one file is deduplicated already
            key = ", ".join(ident(c) for c in latest_by)
            first = f"{ident(order_by)} DESC NULLS LAST, " if order_by else ""
            body += (
                f" QUALIFY row_number() OVER (PARTITION BY {key} "
                f"ORDER BY {first}_run_id DESC, _source_row DESC) = 1"
            )
        self.con.execute(f"CREATE OR REPLACE VIEW {target} AS {body}")

    def materialize(self, sql: str, out_url: str, tag: str | None = None) -> int:
        options = _PARQUET
        if tag is not None:
            options += f", KV_METADATA {{{_TAG}: {literal(tag)}}}"
        rows = self._fetch(f"COPY ({sql}) TO {literal(out_url)} ({options})")
        return int(rows[0][0])

    def tag(self, url: str) -> str | None:
        found = self._fetch(
            f"SELECT decode(value) FROM parquet_kv_metadata({literal(url)}) "
            f"WHERE decode(key) = {literal(_TAG)}"
        )
        return str(found[0][0]) if found else None

    def columns(self, url: str) -> dict[str, str]:
        rows = self._fetch(f"DESCRIBE SELECT * FROM read_parquet({literal(url)})")
        return {name: str(kind) for name, kind, *_ in rows}

    def keys_overlap(self, earlier: list[str], new: str, key: list[str]) -> bool:
        if not earlier:
            return False
        files = "[" + ", ".join(literal(u) for u in earlier) + "]"
        using = ", ".join(ident(k) for k in key)
        # The new file is the build side: its key range prunes the old files' row groups.
        found = self._fetch(
            f"SELECT 1 FROM read_parquet({files}, union_by_name = true) SEMI JOIN "
            f"read_parquet({literal(new)}) USING ({using}) LIMIT 1"
        )
        return bool(found)

    def scan_file(self, url: str) -> pa.RecordBatchReader:
        return self._stream(f"SELECT * FROM read_parquet({literal(url)})")

    def scan_table(self, schema: str, name: str) -> pa.RecordBatchReader:
        return self._stream(f"SELECT * FROM {ident(schema)}.{ident(name)}")

    def _stream(self, sql: str) -> pa.RecordBatchReader:
        return self.con.sql(sql).to_arrow_reader(BATCH_ROWS)

    def close(self) -> None:
        self.con.close()
        if self._scratch is not None:
            for path in (self._scratch, self._scratch.with_name(self._scratch.name + ".wal")):
                path.unlink(missing_ok=True)


def _use_system_allocator() -> None:
    """Arrow's batches (splitting, encoding for COPY) come from the C library's allocator
    rather than Arrow's default, mimalloc, which kept what the streaming threads freed: 5M
    rows peaked at 542-544 MB with it, 447-483 MB without, in the same time. Arrow's own
    ARROW_DEFAULT_MEMORY_POOL still decides when it is set."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())


_KNOWN = [  # DuckDB's words -> ours (the rest of its message is long and generic)
    (
        re.compile(r"Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)"),
        lambda m: (
            f"a line is {int(m[2]):,} bytes long, over the CSV reader's limit of "
            f"{int(m[1]):,} bytes (a broken export, or a field that needs another format)"
        ),
    ),
    (re.compile(r"Unexpected end of GZIP stream"), lambda m: "the gzip stream is cut short"),
    (re.compile(r"Input is not a GZIP stream"), lambda m: "it is named .gz but is not gzip'd"),
    (re.compile(r"exceeds maximum recursion depth of (\d+)"), lambda m: m[0]),
    (re.compile(r"has duplicate key \"([^\"]+)\""), lambda m: f"an object has key {m[1]!r} twice"),
    (re.compile(r"Malformed JSON[^:]*:\s*([^.\n]*)"), lambda m: f"malformed JSON: {m[1]}"),
    (
        re.compile(r"(Footer length error|No magic bytes found)"),
        lambda m: "not a complete Parquet file",
    ),
    (
        re.compile(r"Error when sniffing file"),
        lambda m: "its lines cannot be split into the same fields consistently",
    ),
]


_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _bytes(setting: str) -> int:
    """DuckDB's spelling of a size ('732.4 MiB') in bytes."""
    number, _, unit = setting.strip().partition(" ")
    return int(float(number) * _UNITS.get(unit, 1))


def _remove_stale_scratch(folder: Path) -> None:
    """Scratch databases of engines that died without closing (no run lasts a day)."""
    cutoff = time.time() - _STALE_S
    for path in [*folder.glob(f"{_SCRATCH}*.duckdb*"), *folder.glob(f"{_BROKEN}*.parquet")]:
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def _unreadable(exc: duckdb.Error, url: str, fmt: Format) -> InputError:
    """DuckDB's reader error as one short, actionable message (with the row when it says)."""
    text = str(exc)
    line = _LINE.search(text)
    for pattern, say in _KNOWN:
        match = pattern.search(text)
        if match:
            message = say(match)
            break
    else:
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        message = first if len(first) <= 300 else first[:297] + "..."
    return InputError(
        f"cannot be read as {fmt.value}: {message}",
        path=Path(url).name if "://" not in url else url,
        row=int(line[1]) if line else None,
        fix="Fix or replace the file in landing, or set the dataset's `format:` if it is "
        "not " + fmt.value + ".",
    )


def _renumbered(row: str) -> str:
    """A row number counted among the rows DuckDB could split, as the file's data row: past
    every malformed line (in `rejected`) before it. `row` must name its table (`rejected`
    has a rowid of its own)."""
    return f"{row} + (SELECT count(*) FROM rejected r WHERE r.data_row - r.n < {row})"


def _broken_rows(path: Path, reading: Reading, *, renumber: bool) -> str:
    """The broken rows a SplitStream set aside, under their delivered names (row numbers
    shifted past malformed lines when there were some)."""
    row = _renumbered("b._source_row") if renumber else "b._source_row"
    return (
        f"(SELECT {row} AS _source_row, {as_delivered(reading.source_columns)} "
        f"FROM read_parquet({literal(str(path))}) AS b)"
    )


def _no_rows(reading: Reading) -> str:
    """An empty relation shaped like the delivered rows (text), with _source_row."""
    cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c in reading.source_columns)
    return f"(SELECT CAST(NULL AS BIGINT) AS _source_row, {cols} WHERE false)"


def _malformed_sql(lineage: str) -> str:
    """Quarantine rows for lines that could not be split into fields: the line as delivered."""
    return (
        "SELECT ['row:malformed'] AS _rules, message || ' (line kept in _raw_line)' AS _reason, "
        f"line AS _raw_line, {lineage}, data_row AS _source_row FROM rejected"
    )


def _refuse_file(
    job: ValidationJob,
    rows_in: int,
    rows_bad: int,
    rule_counts: dict[str, int],
    first_rows: dict[str, int],
) -> None:
    """Raise InputError when a `fail` rule is broken or quarantine would exceed max_bad_rows."""
    dataset = job.dataset
    for rule in dataset.rules:
        if rule.on_fail == OnFail.fail and rule_counts.get(rule.name):
            raise InputError(
                f"{rule_counts[rule.name]:,} row(s) break rule {rule.name} "
                f"({rule.check}), which fails the file",
                row=first_rows.get(rule.name),
                rule=rule.name,
                fix="Fix the file and land it again, or relax the rule's on_fail in "
                "pipeline.yaml (quarantine or warn).",
            )
    allowed = dataset.bad_rows_allowed(rows_in)
    if allowed is not None and rows_bad > allowed:
        top = sorted(
            ((n, r) for r, n in rule_counts.items() if not r.startswith("warn:")), reverse=True
        )[:3]
        share = f"{rows_bad / rows_in:.1%}" if rows_in else "all"
        raise InputError(
            f"{rows_bad:,} of {rows_in:,} rows ({share}) break the contract, more than "
            f"max_bad_rows ({dataset.max_bad_rows}); most broken: "
            + ", ".join(f"{r} ({n:,})" for n, r in top),
            fix="Check the file (a wrong export?) and land a corrected one, or raise "
            "max_bad_rows for the dataset in pipeline.yaml.",
        )
