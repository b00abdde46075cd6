"""`when:` conditions of an alert channel: comparisons of a run's numbers, joined by `and` /
`or` (`and` binds tighter). Parsed, never evaluated as code.

    quarantined_ratio > 0.01
    rows_quarantined >= 100 or duration_s > 600
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

FIELDS = (
    "quarantined_ratio",
    "rows_in",
    "rows_silver",
    "rows_quarantined",
    "rows_loaded",
    "duration_s",
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_TERM = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")
Condition = list[list[tuple[str, str, float]]]  # OR of ANDs of (field, op, number)


def parse(text: str) -> Condition:
    """ValueError names the part that is wrong and what is allowed."""
    alternatives: Condition = []
    for alternative in re.split(r"\s+or\s+", text.strip()):
        terms = []
        for term in re.split(r"\s+and\s+", alternative):
            match = _TERM.match(term)
            if not match:
                raise ValueError(
                    f"cannot read {term.strip()!r}: write FIELD OP NUMBER (e.g. "
                    f"quarantined_ratio > 0.01), joined by and/or"
                )
            field, op, number = match[1], match[2], float(match[3])
            if field not in FIELDS:
                raise ValueError(f"unknown field {field!r}; use one of {', '.join(FIELDS)}")
            terms.append((field, op, number))
        alternatives.append(terms)
    return alternatives


def holds(condition: Condition, message: Mapping[str, Any]) -> bool:
    """Whether a run message meets the condition (a missing number counts as 0)."""
    return any(
        all(_OPS[op](float(message.get(field) or 0), number) for field, op, number in terms)
        for terms in condition
    )
