"""DuckDB as the engine: reads, validates and writes out of core (spilling to disk)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow as pa

from medalist.config import Format
from medalist.contracts.rules import checked_sql, ident, literal, quarantine_sql, silver_sql
from medalist.engine import Validation, ValidationJob
from medalist.errors import InputError

BATCH_ROWS = 100_000  # rows per Arrow batch streamed to a destination
_LINE = re.compile(r"on line:?\s*(\d+)", re.IGNORECASE)


def reader_sql(url: str, fmt: Format, *, as_text: bool) -> str:
    """The DuckDB table function that reads one landed file. `as_text` keeps CSV values as
    delivered (strings), so a value that does not fit its type can be quarantined verbatim."""
    src = literal(url)
    text = ", all_varchar = true" if as_text else ""
    match fmt:
        case Format.csv:
            return f"read_csv({src}, header = true{text})"
        case Format.tsv:
            return f"read_csv({src}, header = true, delim = '\\t'{text})"
        case Format.jsonl:
            return f"read_json({src}, format = 'newline_delimited')"
        case Format.json:
            return f"read_json({src}, format = 'array')"
        case Format.parquet:
            return f"read_parquet({src})"


class DuckDBEngine:
    """One in-memory DuckDB per run, with a memory ceiling and a spill folder."""

    def __init__(self, memory_limit: str = "2GB", temp_dir: Path | None = None) -> None:
        # No TimeZone setting: it needs the ICU extension, which cannot be downloaded here;
        # without ICU DuckDB works in UTC, which is what we want anyway.
        config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit}
        if temp_dir is not None:
            temp_dir.mkdir(parents=True, exist_ok=True)
            config["temp_directory"] = str(temp_dir)
        self.con = duckdb.connect(config=config)
        self.con.execute("CREATE SCHEMA IF NOT EXISTS silver; CREATE SCHEMA IF NOT EXISTS gold")

    def _fetch(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def describe(self, url: str, fmt: Format) -> dict[str, str]:
        try:
            rows = self._fetch(f"DESCRIBE SELECT * FROM {reader_sql(url, fmt, as_text=False)}")
        except duckdb.Error as exc:
            raise _unreadable(exc, url, fmt) from None
        return {name: str(kind) for name, kind, *_ in rows}

    def validate(self, job: ValidationJob) -> Validation:
        reader = reader_sql(job.url, job.format, as_text=True)
        try:
            # A table keeps the file's order, so rowid + 1 is the row's place in the file.
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE landed AS SELECT * FROM {reader}")
        except duckdb.Error as exc:
            raise _unreadable(exc, job.url, job.format) from None
        source_columns = {name: str(kind) for name, kind, *_ in self._fetch("DESCRIBE landed")}
        self.con.execute(
            "CREATE OR REPLACE TEMP VIEW checked AS "
            + checked_sql(
                job.dataset,
                "(SELECT rowid + 1 AS _source_row, * FROM landed)",
                source_columns,
                job.mapping,
            )
        )
        lineage = (
            f"{literal(job.run_id)} AS _run_id, {literal(job.source_file)} AS "
            f"_source_file, CAST({literal(job.ingested_at.isoformat())} AS TIMESTAMPTZ)"
            f" AS _ingested_at"
        )
        rows_silver = self.materialize(silver_sql(job.dataset, "checked", lineage), job.silver_url)
        counts = self._fetch("SELECT count(*), count(*) FILTER (len(_rules) > 0) FROM checked")[0]
        rows_in, rows_quarantined = int(counts[0]), int(counts[1])
        rule_counts: dict[str, int] = {}
        if rows_quarantined:
            self.materialize(quarantine_sql(source_columns, "checked", lineage), job.quarantine_url)
            rule_counts = dict(
                self._fetch(
                    "SELECT rule, count(*) FROM (SELECT unnest(_rules) AS rule FROM checked) "
                    "GROUP BY rule ORDER BY rule"
                )
            )
        duplicates = rows_in - rows_quarantined - rows_silver
        if duplicates:
            rule_counts["primary_key:duplicate"] = duplicates
        self.con.execute("DROP VIEW checked; DROP TABLE landed")
        return Validation(rows_in, rows_silver, rows_quarantined, duplicates, rule_counts)

    def expose(
        self, schema: str, name: str, urls: list[str], columns: dict[str, str], latest_by: list[str]
    ) -> None:
        target = f"{ident(schema)}.{ident(name)}"
        if not urls:
            cols = ", ".join(f"CAST(NULL AS {kind}) AS {ident(c)}" for c, kind in columns.items())
            self.con.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT {cols} WHERE false")
            return
        files = "[" + ", ".join(literal(u) for u in urls) + "]"
        body = f"SELECT * FROM read_parquet({files}, union_by_name = true)"
        if latest_by:
            key = ", ".join(ident(c) for c in latest_by)
            body += (
                f" QUALIFY row_number() OVER (PARTITION BY {key} "
                f"ORDER BY _run_id DESC, _source_row DESC) = 1"
            )
        self.con.execute(f"CREATE OR REPLACE VIEW {target} AS {body}")

    def materialize(self, sql: str, out_url: str) -> int:
        rows = self._fetch(f"COPY ({sql}) TO {literal(out_url)} (FORMAT parquet, COMPRESSION zstd)")
        return int(rows[0][0])

    def scan_file(self, url: str) -> pa.RecordBatchReader:
        return self._stream(f"SELECT * FROM read_parquet({literal(url)})")

    def scan_table(self, schema: str, name: str) -> pa.RecordBatchReader:
        return self._stream(f"SELECT * FROM {ident(schema)}.{ident(name)}")

    def _stream(self, sql: str) -> pa.RecordBatchReader:
        return self.con.sql(sql).to_arrow_reader(BATCH_ROWS)

    def close(self) -> None:
        self.con.close()


def _unreadable(exc: duckdb.Error, url: str, fmt: Format) -> InputError:
    """DuckDB's reader error as one actionable message (first line, plus the line number)."""
    # DuckDB appends the query echoed back ("LINE 1: …", "^^^^") and generic hints: drop them.
    lines = [
        ln.strip()
        for ln in str(exc).splitlines()
        if ln.strip() and not ln.strip().startswith(("LINE ", "^", "Possible"))
    ]
    first = lines[0] if lines else type(exc).__name__
    detail = lines[1] if len(lines) > 1 and "=" not in lines[1] else ""
    line = _LINE.search(first)
    message = f"cannot be read as {fmt.value}: {first}" + (f" ({detail})" if detail else "")
    return InputError(
        message,
        path=Path(url).name if "://" not in url else url,
        row=int(line[1]) if line else None,
        fix="Fix or replace the file in landing, or set the dataset's `format:` if it is "
        "not " + fmt.value + ".",
    )
