"""docs/benchmarks.md, one section at a time (pure text: no measuring here).

A full `make bench` takes over half an hour, so the page is rewritten by section: each section
sits between markers with the date, commit, load average and command that measured it, and
`python -m benchmarks.run --only burst,extract` replaces just those, keeping the others as they
were. Each section carries its targets as hidden lines; the Targets table at the top is
gathered from every section on the page, and a target whose section was never measured says so.

    <!-- section: burst -->
    ## Bursts of small files
    _Measured 2026-12-03 17:40 UTC, commit 1a2b3c4, load average 1.9 → 2.1: `python -m …`_
    …
    <!-- target: {"key": "burst", "what": "…", "measured": "2.4 x", "met": true} -->
    <!-- /section -->
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

# (key, section, what it asks): the issues' targets, in the order the Targets table lists them.
TARGETS = [
    ("floor", "contenders", "full run ≤ 1.5 x the floor"),
    ("dlt", "contenders", "faster than dlt's fastest path"),
    ("dlt-csv", "contenders", "≥ 10 x faster than dlt's CSV source"),
    ("rss", "contenders", "peak RSS ≤ 1 GB"),
    ("rss-20m", "scaling", "RSS at 20M rows ≤ RSS at 1M + 10%"),
    ("increment", "increment", "daily 1% increment ≤ 3% of a full run"),
    ("burst", "burst", "1,000-file burst ≤ 3 x one file"),
    ("history", "history", "1% increment after 365 days ≤ 3%"),
    ("100m", "bigfile", "100M rows: peak RSS ≤ 1 GB, s per M rows within 15% of 5M"),
    ("s3", "s3", "the S3 run streams: peak RSS ≤ 1 GB"),
    ("spark-20m", "spark", "medalist on Spark ≤ 1.5 x Spark's floor at 20M rows"),
    ("extract", "extract", "extract ≤ 1.5 x psql \\copy, peak RSS ≤ 1 GB"),
]
SECTIONS = ["contenders", "scaling", "increment", "burst", "history", "bigfile", "s3", "spark"]
SECTIONS += ["extract"]

_SECTION = re.compile(r"<!-- section: (\S+) -->\n(.*?)\n?<!-- /section -->", re.DOTALL)
_TARGET = re.compile(r"<!-- target: (\{.*?\}) -->")


@dataclass(frozen=True)
class Target:
    key: str
    what: str
    measured: str
    met: bool | None  # None: reported, no pass/fail

    def line(self) -> str:
        fields = {"key": self.key, "what": self.what, "measured": self.measured, "met": self.met}
        return f"<!-- target: {json.dumps(fields, ensure_ascii=False)} -->"


@dataclass(frozen=True)
class Section:
    """One freshly measured section: its body (markdown, title first) and its targets."""

    name: str
    body: list[str]
    targets: list[Target] = field(default_factory=list)


def paragraph(name: str, title: str, text: str, target: Target) -> Section:
    """A section that is one paragraph and one target."""
    return Section(name, [title, "", text], [target])


def render(section: Section, stamp: str) -> str:
    """The section between its markers; `stamp` (when, commit, load, command) under its title."""
    title, *rest = section.body
    lines = [f"<!-- section: {section.name} -->", title, "", f"_{stamp}_", *rest, ""]
    lines += [t.line() for t in section.targets]  # after a blank line: not a table's row
    return "\n".join([*lines, "<!-- /section -->"])


def sections_of(doc: str) -> dict[str, str]:
    """Each section's whole text (markers included) by name, from a page."""
    return {m.group(1): m.group(0) for m in _SECTION.finditer(doc)}


def targets_of(section_text: str) -> list[Target]:
    return [Target(**json.loads(m.group(1))) for m in _TARGET.finditer(section_text)]


def stamp_of(section_text: str) -> str:
    """The section's `_Measured …_` line (the first italic paragraph), or ''."""
    found = re.search(r"^_(Measured .*)_$", section_text, re.MULTILINE)
    return found.group(1) if found else ""


def targets_table(sections: dict[str, str]) -> list[str]:
    """Every target of TARGETS, with what the page's sections measured, or 'not measured'."""
    found = {t.key: (t, name) for name, text in sections.items() for t in targets_of(text)}
    lines = ["| target | section | measured | met |", "|---|---|---|---|"]
    for key, section, what in TARGETS:
        if key not in found:
            lines.append(f"| {what} | {section} | not measured | - |")
            continue
        target, name = found[key]
        met = "-" if target.met is None else ("yes" if target.met else "no")
        lines.append(f"| {target.what} | [{name}](#{name}) | {target.measured} | {met} |")
    return lines


def rewrite(old: str, header: list[str], fresh: dict[str, str]) -> str:
    """The page: `header`, the Targets table, then every section in SECTIONS order, each
    from `fresh` (rendered) if measured now, else as `old` had it; sections `old` had under
    names no longer known are kept at the end rather than lost."""
    kept = sections_of(old)
    merged = {**kept, **fresh}
    order = [n for n in SECTIONS if n in merged] + [n for n in merged if n not in SECTIONS]
    body = ["", "## Targets", "", *targets_table(merged), ""]
    for name in order:
        body += [f'<a id="{name}"></a>', merged[name], ""]
    return "\n".join([*header, *body]).rstrip("\n") + "\n"
