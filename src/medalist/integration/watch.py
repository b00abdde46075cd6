"""`medalist land --watch DIR`: the on-premise ingestion agent. It scans a folder, lands each
new file once it has stopped changing, and remembers what it sent in a small state file keyed by
content hash, so a restart neither resends nor skips a file.

A crash between publishing and writing the state is harmless: the next scan finds the same
content already in landing (`already_landed`) and records it as skipped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medalist.config import Pipeline
from medalist.integration.land import Landed, Outcome, dataset_spec, files_of, land_one, sha256
from medalist.workflow.context import Ports

STATE_NAME = ".medalist-sent.jsonl"


@dataclass
class SentState:
    """What the agent handled: content hash -> outcome, and (name, size, mtime) -> hash, the
    quick check that spares hashing a file seen before."""

    path: Path
    by_hash: dict[str, str] = field(default_factory=dict)
    seen: dict[tuple[str, int, float], str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> SentState:
        state = cls(path)
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: that file is looked at again
                state._note(entry)
        return state

    def _note(self, entry: dict[str, object]) -> None:
        digest = str(entry["sha256"])
        self.by_hash[digest] = str(entry["outcome"])
        key = (str(entry["name"]), int(entry["size"]), float(entry["mtime"]))  # type: ignore[call-overload,arg-type]
        self.seen[key] = digest

    def record(self, done: Landed, name: str, mtime: float) -> None:
        entry = {
            "sha256": done.sha256,
            "name": name,
            "size": done.size,
            "mtime": mtime,
            "outcome": done.outcome.value,
            "target": done.target,
            "at": time.time(),
        }
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._note(entry)


def scan(
    pipeline: Pipeline,
    ports: Ports,
    folder: Path,
    dataset: str,
    state: SentState,
    *,
    check: bool = False,
    settle_s: float = 2.0,
    on_done: Callable[[Landed], None] | None = None,
) -> list[Landed]:
    """One pass over the folder: land every settled file not handled before."""
    spec = dataset_spec(pipeline, dataset)
    done = []
    settled_before = time.time() - settle_s
    for local, name in files_of([folder]):
        if local.name == state.path.name:
            continue
        st = local.stat()
        if st.st_mtime > settled_before or (name, st.st_size, st.st_mtime) in state.seen:
            continue
        if sha256(local) in state.by_hash:
            continue  # the same content under another name, or touched: sent already
        result = land_one(pipeline, ports, spec, dataset, local, name, check)
        state.record(result, name, st.st_mtime)
        done.append(result)
        if on_done:
            on_done(result)
    return done


def watch(
    pipeline: Pipeline,
    ports: Ports,
    folder: Path,
    dataset: str,
    *,
    state_path: Path | None = None,
    check: bool = False,
    settle_s: float = 2.0,
    poll_s: float = 2.0,
    should_stop: Callable[[], bool] = lambda: False,
    on_done: Callable[[Landed], None] | None = None,
) -> None:
    """Scan every `poll_s` seconds until `should_stop()`."""
    state = SentState.load(state_path or folder / STATE_NAME)
    while True:
        scan(
            pipeline, ports, folder, dataset, state, check=check, settle_s=settle_s, on_done=on_done
        )
        if should_stop():
            return
        time.sleep(poll_s)


__all__ = ["STATE_NAME", "Outcome", "SentState", "scan", "watch"]
