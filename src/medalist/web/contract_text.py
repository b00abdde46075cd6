"""A dataset's contract as its author wrote it: its block of pipeline.yaml, comments and
`${VARIABLES}` included, rather than the model re-serialised."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from medalist.config import DEFAULT_CONFIG, Pipeline


def contract_yaml(pipeline: Pipeline, name: str) -> tuple[str, bool]:
    """(YAML text, whether it is as written); falls back to the loaded contract dumped as
    YAML when the block cannot be found (another file name, flow style)."""
    candidates = [pipeline.base_dir / DEFAULT_CONFIG, *sorted(pipeline.base_dir.glob("*.y*ml"))]
    for path in candidates:
        block = _block(path, name) if path.is_file() else None
        if block:
            return block, True
    spec = pipeline.datasets[name].model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump({name: spec}, sort_keys=False), False


def _block(path: Path, name: str) -> str | None:
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if re.match(r"datasets:\s*(#.*)?$", line))
    except StopIteration:
        return None
    wanted = re.compile(rf"""^(\s+)(["']?){re.escape(name)}\2:\s*(#.*)?$""")
    block: list[str] = []
    indent = None
    for line in lines[start + 1 :]:
        content = line.strip()
        depth = len(line) - len(line.lstrip())
        if content and not content.startswith("#") and depth == 0:
            break  # the next top-level key: datasets ended
        if indent is None:
            match = wanted.match(line)
            if match:
                indent = len(match[1])
                block.append(line)
            continue
        if content and depth <= indent:
            break  # the next dataset
        block.append(line)
    while block and not block[-1].strip():
        block.pop()
    if indent is None:
        return None
    return "\n".join(line[indent:] for line in block) + "\n"
