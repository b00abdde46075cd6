"""Schema drift: how a landed file's columns differ from the contract and from the schema the
catalog saw last, and which type changes are safe widenings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_INTEGERS = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"]
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def widens(old: str, new: str) -> bool:
    """True when every value of type `old` fits type `new` unchanged (integer → bigint →
    double, a decimal with more digits, float → double, any varchar to varchar)."""
    old, new = old.upper(), new.upper()
    if old == new or (old.startswith("VARCHAR") and new.startswith("VARCHAR")):
        return True
    if old in _INTEGERS and new in _INTEGERS:
        return _INTEGERS.index(old) < _INTEGERS.index(new)
    if new == "DOUBLE" and (old in _INTEGERS or old == "FLOAT" or old.startswith("DECIMAL")):
        return True
    a, b = _DECIMAL.match(old), _DECIMAL.match(new)
    if a and b:
        (p1, s1), (p2, s2) = (int(a[1]), int(a[2])), (int(b[1]), int(b[2]))
        return s2 >= s1 and p2 - s2 >= p1 - s1
    if b and old in _INTEGERS:
        digits = {"TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19, "HUGEINT": 39}
        return int(b[1]) - int(b[2]) >= digits[old]
    return False


@dataclass(frozen=True)
class Drift:
    """added: file columns the contract does not name (-> type); removed: contract columns the
    file lacks; retyped: columns whose type changed since the catalog's last version."""

    added: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    @property
    def unsafe(self) -> dict[str, tuple[str, str]]:
        """Retyped columns whose new type does not hold every old value."""
        return {c: t for c, t in self.retyped.items() if not widens(*t)}

    def describe(self) -> str:
        parts = [f"+{c} {t}" for c, t in self.added.items()]
        parts += [f"-{c}" for c in self.removed]
        parts += [f"~{c} {a} → {b}" for c, (a, b) in self.retyped.items()]
        return ", ".join(parts) or "no change"

    def to_dict(self) -> dict[str, object]:
        return {"added": self.added, "removed": self.removed, "retyped": self.retyped}


def detect(
    found: dict[str, str],
    mapping: dict[str, str | None],
    previous: dict[str, str] | None,
    typed: bool,
) -> Drift:
    """`found`: the file's columns -> types; `mapping`: contract column -> file column;
    `previous`: the catalog's last columns; `typed`: the format carries types (Parquet, JSON),
    so a type change is a real change rather than a guess of CSV sniffing."""
    used = {src for src in mapping.values() if src}
    retyped = {}
    if typed and previous:
        retyped = {
            c: (previous[c], t) for c, t in found.items() if c in previous and previous[c] != t
        }
    return Drift(
        added={c: t for c, t in found.items() if c not in used},
        removed=[c for c, src in mapping.items() if src is None],
        retyped=retyped,
    )
