"""Crawl: detect the format, dialect and schema of the landed file, compare it with the contract
and the catalog's last version (schema drift), apply the dataset's drift policy, and register
the schema in the catalog (the Glue crawler's job)."""

from __future__ import annotations

import csv

from medalist.config import DatasetSpec, DriftPolicy, Format
from medalist.contracts.drift import Drift, detect
from medalist.engine import FileSpec
from medalist.engine.formats import detect_format
from medalist.engine.sniff import HEAD_BYTES, head_text, sniff, unclosed_quote_line
from medalist.errors import InputError
from medalist.states.results import CrawlResult
from medalist.workflow.context import RunContext

TYPED_FORMATS = (Format.parquet, Format.json, Format.jsonl)


def match_columns(dataset: DatasetSpec, found: list[str]) -> dict[str, str | None]:
    """Contract column -> file column: exact name first, then ignoring case and spaces.
    Example: contract `order_id` matches a header `Order_ID` or ` order_id `. A CSV without a
    header is matched by position."""
    if not dataset.csv.header and found and all(c.startswith("column") for c in found):
        return {
            col: (found[i] if i < len(found) else None) for i, col in enumerate(dataset.columns)
        }
    loose = {name.strip().lower(): name for name in found}
    return {col: col if col in found else loose.get(col.lower()) for col in dataset.columns}


# A batch's Crawl (batching.py): delivery (format, delimiter, gzip'd, header line) -> the
# landed file the engine described first among those delivered so, and its columns (0046).
Described = dict[tuple[str, str | None, str], tuple[str, dict[str, str]]]
SHARED_SNIFF_BYTES = 16 * 2**20  # a bigger file is sniffed: its sniff is little beside its read


def landed_file(ctx: RunContext, fmt: Format) -> FileSpec:
    """The file as the engine reads it, with a sniffed CSV delimiter."""
    return _landed(ctx, fmt)[0]


def _landed(ctx: RunContext, fmt: Format) -> tuple[FileSpec, bytes]:
    """The file as the engine reads it, and its first bytes (CSV/TSV; else none)."""
    run_, dataset, storage = ctx.run, ctx.dataset, ctx.ports.storage
    delimiter, head = None, b""
    if fmt in (Format.csv, Format.tsv):
        head = storage.head("landing", run_.file, HEAD_BYTES)
        delimiter = sniff(head, dataset.csv, fmt).delimiter
    url = storage.url("landing", run_.file)
    return FileSpec(url, fmt, dataset.csv, delimiter, frozenset(dataset.columns)), head


def _columns(
    ctx: RunContext, file: FileSpec, head: bytes, described: Described | None
) -> tuple[dict[str, str], str | None, bool | None]:
    """(the file's columns, the file whose sniff gave them when not this one, whether its
    quotes pair up when counted: a file of a batch delivered as CSV): described by
    the engine, or, in a batch, those of an earlier file of the batch whose header line is the
    same byte for byte (DuckDB's sniffer costs a small file ≈ 7-10 ms; its types are guesses
    medalist uses for nothing but the catalog's record: Transform reads CSV values as text and
    casts them to the contract's types). Transform sniffs such a file after all before it
    validates it alone, e.g. when its lines do not all split into the header's fields
    (`confirm_sniff`)."""
    key = _delivery(ctx, file, head) if described is not None else None
    paired = _quotes_closed(ctx, file, head) if key is not None else None
    if key is not None and described is not None and key in described and paired:
        first, columns = described[key]
        return dict(columns), first, paired
    columns = _describe(ctx, file)
    if key is not None and described is not None:
        described[key] = (ctx.run.file, dict(columns))
    return columns, None, paired


def confirm_sniff(ctx: RunContext, file: FileSpec) -> None:
    """For a file crawled with another file's sniff: the engine's own description of it, which
    raises the InputError Crawl would have raised (a file the sniffer cannot split fails as in
    a run of its own)."""
    if ctx.result(CrawlResult).sniffed_with is not None:
        _describe(ctx, file)


def _delivery(ctx: RunContext, file: FileSpec, head: bytes) -> tuple[str, str | None, str] | None:
    """What makes two CSV files read alike: format, delimiter and the header line (complete in
    the first bytes); None when the file may not share a sniff: no header to compare, gzip'd,
    UTF-16, quotes escaped otherwise than by doubling (`_quotes_closed` cannot count them), or
    over SHARED_SNIFF_BYTES."""
    csv_ = file.csv
    if (
        file.format not in (Format.csv, Format.tsv)
        or not csv_.header
        or head[:2] == b"\x1f\x8b"
        or csv_.encoding == "utf-16"
        or csv_.escape not in (None, csv_.quote)
        or ctx.run.file_bytes > SHARED_SNIFF_BYTES
    ):
        return None
    lines = head_text(head, csv_.encoding).splitlines(keepends=True)[csv_.skip_rows :]
    if len(lines) < 2 or not lines[0].strip():  # the header may go on past the first bytes
        return None
    return (file.format.value, file.delimiter, lines[0].rstrip("\r\n"))


def _quotes_closed(ctx: RunContext, file: FileSpec, head: bytes) -> bool:
    """Whether every quote the file opens closes (an even number of quote characters, with
    quotes escaped by doubling). One that never closes goes to the sniffer, and is validated
    alone: DuckDB's read of many files (Transform's one pass) drops such a last line without
    setting it aside (DuckDB 2.0.1, from the fifth file of a read on), while the sniffer may
    well accept the file (it then reads the quote as text)."""
    whole = head
    if len(head) < ctx.run.file_bytes:
        whole = ctx.ports.storage.head("landing", ctx.run.file, ctx.run.file_bytes)
    return whole.count(file.csv.quote.encode(file.csv.encoding)) % 2 == 0


def _describe(ctx: RunContext, file: FileSpec) -> dict[str, str]:
    """The file's columns; for a CSV the engine cannot split, say where a quote never closes."""
    try:
        return ctx.engine.describe(file)
    except InputError as err:
        if file.format in (Format.csv, Format.tsv) and "over the CSV reader's limit" in err.message:
            header = _header_columns(ctx, file)
            if header:  # one absurd line costs its row in Transform, not the file
                return header
        explain_split(ctx, file, err)
        raise


def explain_split(ctx: RunContext, file: FileSpec, err: InputError) -> None:
    """For a CSV the engine cannot split into fields, say where a quote never closes (when one
    does, in the file's first bytes)."""
    if file.format not in (Format.csv, Format.tsv) or "cannot be split" not in err.message:
        return
    head = ctx.ports.storage.head("landing", ctx.run.file, HEAD_BYTES)
    line = unclosed_quote_line(head_text(head, file.csv.encoding), file.csv.quote)
    if line is not None:
        err.message = (
            f"a quote ({file.csv.quote}) opened on line {line} is never closed, so "
            "the rest of the file would be a single field"
        )
        err.row = line - file.header_lines
        err.fix = "Close or remove the quote in the file and land it again."


def _header_columns(ctx: RunContext, file: FileSpec) -> dict[str, str] | None:
    """The header's columns when the type sniffer refused the file for one over-long line:
    typed as the catalog last saw them (CSV types are guesses anyway), else VARCHAR; Transform
    reads every value as text and quarantines the long row (contracts/rules.py FIELD_LIMIT)."""
    if not file.csv.header:
        return None
    head = head_text(ctx.ports.storage.head("landing", ctx.run.file, HEAD_BYTES), file.csv.encoding)
    lines = head.splitlines()[file.csv.skip_rows :]
    if not lines:
        return None
    delimiter = file.csv.delimiter or file.delimiter or ("\t" if file.format == Format.tsv else ",")
    names = next(csv.reader([lines[0]], delimiter=delimiter, quotechar=file.csv.quote))
    previous = ctx.ports.catalog.latest(ctx.run.dataset)
    known = previous.columns if previous else {}
    return {name: known.get(name, "VARCHAR") for name in names}


def run(ctx: RunContext, described: Described | None = None) -> CrawlResult:
    """Crawl the run's file; `described`: the columns of files of the same batch, by how they
    were delivered, to use for a file delivered alike (and to add this one's to)."""
    run_, dataset = ctx.run, ctx.dataset
    where = f"landing/{run_.file}"
    fmt = detect_format(where, dataset.format, run_.dataset)
    try:
        if run_.file_bytes == 0:
            raise InputError(
                "is empty (0 bytes), not even a header",
                fix="If there was no data that day, land a file holding just the header; "
                "otherwise export it again.",
            )
        file, head = _landed(ctx, fmt)
        columns, sniffed_with, paired = _columns(ctx, file, head, described)
        if fmt in (Format.json, Format.jsonl) and columns == {"json": "JSON"}:
            raise InputError(
                "holds no records (an empty JSON array), so it has no columns to check",
                fix="On days without data land no file, or land JSON lines.",
            )
    except InputError as err:
        err.path = where
        raise
    mapping = match_columns(dataset, list(columns))
    _require(dataset, mapping, columns, file, where)
    previous = ctx.ports.catalog.latest(run_.dataset)
    drift = detect(columns, mapping, previous.columns if previous else None, fmt in TYPED_FORMATS)
    extras = _apply_policy(dataset, drift, fmt, where)
    version = ctx.ports.catalog.register(run_.dataset, columns, run_.file, run_.run_id)
    return CrawlResult(
        fmt,
        columns,
        mapping,
        version.version,
        ignored_columns=[c for c in drift.added if c not in extras],
        delimiter=file.delimiter,
        extras=extras,
        drift=drift.describe() if drift else None,
        sniffed_with=sniffed_with,
        quotes_paired=paired,
    )


def _require(
    dataset: DatasetSpec,
    mapping: dict[str, str | None],
    columns: dict[str, str],
    file: FileSpec,
    where: str,
) -> None:
    """Every required and key column must be in the file, whatever the drift policy."""
    missing = [
        c
        for c, src in mapping.items()
        if src is None and (dataset.columns[c].required or c in dataset.primary_key)
    ]
    if not missing:
        return
    fix = "Fix the file's header, or mark the column optional in pipeline.yaml."
    if len(columns) == 1 and file.format in (Format.csv, Format.tsv):
        (only,) = columns
        used = file.csv.delimiter or file.delimiter
        other = next((c for c in (",", ";", "\t", "|") if c in only and c != used), None)
        if other:
            fix = f"The header looks {other!r}-delimited: set `csv: {{delimiter: {other!r}}}`."
    raise InputError(
        f"required column(s) {', '.join(missing)} missing; the file has "
        f"{', '.join(columns) or 'no columns'}",
        path=where,
        column=missing[0],
        fix=fix,
    )


def _apply_policy(dataset: DatasetSpec, drift: Drift, fmt: Format, where: str) -> dict[str, str]:
    """The evolved columns to keep (-> SQL type), or InputError when the policy refuses."""
    policy = dataset.on_schema_drift
    if not drift or policy == DriftPolicy.ignore:
        return {}
    if policy == DriftPolicy.fail:
        raise InputError(
            f"schema drift: {drift.describe()}",
            path=where,
            rule="schema_drift",
            fix="Fix the file, or update the contract (or set on_schema_drift: evolve or "
            "ignore) in pipeline.yaml.",
        )
    if drift.unsafe:
        raise InputError(
            "schema drift that cannot evolve safely: "
            + ", ".join(f"{c} {a} → {b}" for c, (a, b) in drift.unsafe.items()),
            path=where,
            rule="schema_drift",
            fix="Only widening changes evolve (integer → bigint → double, more decimal "
            "digits); fix the file or change the contract's type.",
        )
    # CSV types are guesses from a sample: new CSV columns are kept as text, losslessly.
    return {c: (t if fmt in TYPED_FORMATS else "VARCHAR") for c, t in drift.added.items()}
