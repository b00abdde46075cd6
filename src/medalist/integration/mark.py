"""The high-water mark of an incremental extract: the cursor value of the last row landed.

It lives in the run log, in the extract run's `outputs["Extract"]`, and moves only together
with a published file (docs/decisions/0024-extract-high-water-mark.md):

- before a file is published, the run records it as `pending` with the mark it would set;
- after, the mark moves to that value and the file joins `files`.

A run that died in between is read back by the next extract: if its pending file is in landing
it was published, so its mark counts; if not, it never was, and the mark before it stands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# {"type": "int" | "decimal" | "datetime" | "date" | "text", "value": str, "keys": [...]}:
# `keys` are the primary keys of the landed rows whose cursor equals the value (None without a
# primary key), so the next extract can read `cursor >= value` and drop exactly those.
Mark = dict[str, Any] | None


def key_text(key: list[Any]) -> str:
    """A primary key as one comparable text (values as the run log's JSON gives them back)."""
    return json.dumps([v if isinstance(v, int | str) else str(v) for v in key])


def same_value(a: Mark, b: Mark) -> bool:
    return a is not None and b is not None and (a["type"], a["value"]) == (b["type"], b["value"])


def to_mark(value: Any) -> Mark:
    """A cursor value (from an Arrow scalar's as_py) as JSON the run log can hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a boolean column cannot be a cursor")
    if isinstance(value, int):
        return {"type": "int", "value": str(value)}
    if isinstance(value, Decimal | float):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat(sep=" ")}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    return {"type": "text", "value": str(value)}


def describe(mark: Mark) -> str:
    return "the start" if mark is None else mark["value"]


@dataclass(frozen=True)
class Resume:
    """Where an extract starts: the mark, and what a dead predecessor left to tidy."""

    mark: Mark
    adopted: str | None = None  # a file the dead run published but did not record
    staged: str | None = None  # a file the dead run was writing, never published


def resume_from(outputs: dict[str, Any], published: bool) -> Resume:
    """The mark to start from after a run whose Extract output is `outputs`; `published` says
    whether its pending file (if any) is in landing."""
    pending = outputs.get("pending")
    if pending is None:
        return Resume(outputs.get("mark"), staged=outputs.get("writing"))
    if published:
        return Resume(pending["mark"], adopted=pending["path"])
    return Resume(outputs.get("mark"), staged=pending["path"])
