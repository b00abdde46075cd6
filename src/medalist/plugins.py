"""Adapters are found through entry points, built-in ones exactly like third-party ones."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any


@cache
def adapters(group: str) -> dict[str, Any]:
    """name -> adapter class, for one entry-point group (e.g. medalist.destinations)."""
    return {ep.name: ep for ep in entry_points(group=group)}


def load_adapter(group: str, name: str) -> Any:
    found = adapters(group)
    if name not in found:
        raise KeyError(name)
    return found[name].load()
