"""Alerts as JSON lines, appended one whole line at a time."""

from __future__ import annotations

import json
import os
from typing import Any

from medalist.config import FileNotification, Pipeline
from medalist.metastore import iso, now


class FileNotifier:
    def __init__(self, spec: FileNotification, pipeline: Pipeline) -> None:
        default = pipeline.state_dir / "notifications.jsonl"  # <lake>/_medalist locally
        self.path = (pipeline.base_dir / spec.path).resolve() if spec.path else default
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps({"at": iso(now()), **message}, default=str) + "\n"
        # O_APPEND makes one write of a whole line atomic against other writers.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
