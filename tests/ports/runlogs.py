"""The run-log adapters the contract suite runs against, openable in any process.

A `Spec` names an adapter and where it keeps its state (a lake folder, or a table on an
endpoint); child processes open their own adapter from it, as separate `medalist run`
processes would."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ulid import ULID

from medalist.aws import AwsTarget
from medalist.runlog import RunRecord
from medalist.runlog.dynamodb import DynamoRunLog
from medalist.runlog.sqlite import SqliteRunLog
from tests.aws.emulator import REGION, use_fake_credentials

ADAPTERS = ["sqlite", "dynamodb"]


@dataclass(frozen=True)
class Spec:
    kind: str
    where: str  # the lake folder, or the table name
    endpoint: str | None = None

    def open(self) -> Any:
        if self.kind == "sqlite":
            return SqliteRunLog(Path(self.where))
        use_fake_credentials()  # a process started before the emulator was has none
        return DynamoRunLog(self.where, AwsTarget(REGION, self.endpoint))


T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def record(
    *,
    run_id: str | None = None,
    dataset: str = "orders",
    file: str = "orders/a.csv",
    file_hash: str = "h1",
    started_at: datetime | None = None,
    **fields: Any,
) -> RunRecord:
    """A run about to be claimed (times at whole milliseconds: both adapters keep those)."""
    return RunRecord(
        run_id=run_id or str(ULID()),
        pipeline="shop",
        dataset=dataset,
        file=file,
        file_hash=file_hash,
        file_bytes=100,
        started_at=started_at or T0,
        lease_owner="host:1:a",
        lease_expires_at=(started_at or T0) + timedelta(minutes=2),
        **fields,
    )


def claim_files(spec: Spec, files: list[str], start: Any, results: Any, seed: int) -> None:
    """In a process of its own: open the adapter, wait at the `start` barrier for the others,
    then try to claim every file (in an order of its own). Puts (file, run_id) of the claims it
    won on `results`, or the error that stopped it (and breaks the barrier: no one waits)."""
    try:
        runlog = spec.open()
        order = files[:]
        random.Random(seed).shuffle(order)
        start.wait(timeout=120)
        won = []
        for file in order:
            claimed = runlog.claim(record(file=file, file_hash=f"hash-of-{file}"))
            if claimed is not None:
                won.append((file, claimed.run_id))
        results.put(won)
    except BaseException as exc:
        start.abort()
        results.put(f"process {seed}: {type(exc).__name__}: {exc}")
