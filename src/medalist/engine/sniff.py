"""Look at the first bytes of a CSV file: which delimiter it uses, and whether its header can
name columns at all (no duplicate names). DuckDB's own sniffer gives up on files with ragged
rows, so the delimiter is chosen from the header line, which is rarely broken."""

from __future__ import annotations

import codecs
import csv
import io
import zlib
from dataclasses import dataclass

from medalist.config import CsvOptions, Format
from medalist.errors import InputError

HEAD_BYTES = 64 * 1024
CANDIDATES = (",", ";", "\t", "|")
_ENCODINGS = {"utf-8": "utf-8-sig", "latin-1": "latin-1", "utf-16": "utf-16"}


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    header: list[str]  # names as delivered (empty when the file has no header)


def head_text(head: bytes, encoding: str) -> str:
    """The first bytes as text: gunzipped when gzip'd, BOM dropped, bad bytes replaced."""
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=31).decompress(head)
        except zlib.error:
            return ""  # the reader reports what is wrong with it
    return head.decode(_ENCODINGS[encoding], errors="replace")


def check_text(head: bytes, options: CsvOptions, fmt: Format) -> None:
    """InputError when the first bytes are binary, or not text in the declared encoding."""
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=31).decompress(head)
        except zlib.error:
            return  # the reader reports what is wrong with the gzip stream
    if options.encoding != "utf-16" and b"\x00" in head:
        raise InputError(
            f"holds NUL bytes: it is binary, not {options.encoding} {fmt.value} text",
            fix=f"Re-export the file as {fmt.value} text (a landed file is never replaced: land "
            f"the new one under a new name), or set the dataset's `format:` if it is not "
            f"{fmt.value}.",
        )
    if options.encoding == "utf-8":
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError as exc:
            line = head[: exc.start].count(b"\n") + 1
            raise InputError(
                f"is not valid utf-8 text (byte 0x{head[exc.start]:02x} on line {line})",
                row=max(line - options.skip_rows - (1 if options.header else 0), 0) or None,
                fix="Declare the file's encoding, e.g. `csv: {encoding: latin-1}` for the "
                "dataset in pipeline.yaml, or re-export the file as UTF-8.",
            ) from None


def sniff(head: bytes, options: CsvOptions, fmt: Format) -> Dialect:
    """The dialect of a CSV/TSV file from its first bytes. InputError for binary or wrongly
    encoded text, or a header naming the same column twice."""
    check_text(head, options, fmt)
    lines = head_text(head, options.encoding).splitlines()[options.skip_rows :]
    first = lines[0] if lines else ""
    if options.delimiter:
        delimiter = options.delimiter
    elif fmt == Format.tsv:
        delimiter = "\t"
    else:  # the candidate splitting the header into the most fields; ties go to ","
        delimiter = max(CANDIDATES, key=lambda c: (first.count(c), c == ","))
    if not options.header or not first:
        return Dialect(delimiter, [])
    names = next(csv.reader(io.StringIO(first), delimiter=delimiter, quotechar=options.quote))
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        key = name.strip().lower()
        if key and key in seen:
            raise InputError(
                f"the header names column {name.strip()!r} twice (fields {seen[key]} and "
                f"{position}), so its values cannot be told apart",
                column=name.strip(),
                fix="Rename one of them in the file and land it again.",
            )
        seen[key] = position
    return Dialect(delimiter, names)


def unclosed_quote_line(text: str, quote: str) -> int | None:
    """The line where a quote opens that is never closed (so the rest of the file would be one
    field), or None."""
    opened, line, inside = None, 1, False
    for char in text:
        if char == quote:
            inside = not inside
            opened = line if inside else None
        elif char == "\n":
            line += 1
    return opened if inside else None
