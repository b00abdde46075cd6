"""A local wheelhouse for packaging tests: nothing is downloaded.

One small wheel per distribution installed in this environment, with its real name, version
and requirements (so pip resolves medalist's real dependency graph from it) and a marker module
in place of the real code. Pure Python (py3-none-any), so pip takes it for any target platform.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from medalist.deploy.package import write_zip

MARKER = b"# a stand-in built by tests/aws/wheelhouse.py\n"


def fake_wheelhouse(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    tops: dict[str, list[str]] = {}
    for top, names in importlib.metadata.packages_distributions().items():
        for dist_name in names:
            tops.setdefault(dist_name.lower(), []).append(top)
    seen: set[str] = set()
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if not name or name.lower() == "medalist" or name.lower() in seen:
            continue
        seen.add(name.lower())
        stem = re.sub(r"[-_.]+", "_", name)
        info = f"{stem}-{dist.version}.dist-info"
        requires = "".join(f"Requires-Dist: {r}\n" for r in dist.requires or [])
        extras = "".join(
            f"Provides-Extra: {e}\n" for e in dist.metadata.get_all("Provides-Extra") or []
        )
        metadata = (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {dist.version}\n{extras}{requires}"
        )
        modules = sorted(tops.get(name.lower(), [stem.lower()]))
        entries = {f"{m}/__init__.py": MARKER for m in modules if m.isidentifier()}
        entries |= {
            f"{info}/METADATA": metadata.encode(),
            f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            f"{info}/RECORD": b"",
        }
        write_zip(dest / f"{stem}-{dist.version}-py3-none-any.whl", entries)
    return dest
