"""DuckDB's errors in our words, and a file's verdict (InputError when it must fail)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from medalist.config import Format, OnFail
from medalist.engine import ValidationJob
from medalist.errors import InputError

_LINE = re.compile(r"(?:on|in) line:?\s*(\d+)", re.IGNORECASE)

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
        fix="Fix the file and land it under a new name (a landed file is never replaced), "
        "or set the dataset's `format:` if it is not " + fmt.value + ".",
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
