"""Leases: who is working on a run or holds a lock, and when a holder counts as gone.

An owner is `host:pid:token`. The token tells apart two runners in one process. Whether a
holder is gone is a port of its own (`Liveness`): the rule everywhere is the lease's expiry,
since only that means the same thing on every machine; a live holder renews its leases
(`Heartbeat`). On one machine, host and pid let a trigger see at once that the holder's process
died (`LocalProcesses`): an optimisation that applies only to holders on this very host, and
that pipelines whose runners share hostnames and PIDs across sandboxes (Lambda) must not use
(`LeaseExpiry`). docs/decisions/0017-dynamodb-run-log.md
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from uuid import uuid4

from medalist.metastore import now

LEASE = timedelta(minutes=2)
RENEW_EVERY_S = 20.0


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"


class Liveness(Protocol):
    """Whether the holder of a lease (a run's, a lock's) is gone, so it may be taken over."""

    def gone(self, owner: str | None, expires_at: datetime | None) -> bool:
        """True when `owner`, whose lease ends at `expires_at`, can be presumed gone."""


class LeaseExpiry:
    """The rule: a holder is gone once its lease expired, wherever it ran."""

    def gone(self, owner: str | None, expires_at: datetime | None) -> bool:
        return expires_at is not None and expires_at < now()


@dataclass(frozen=True)
class LocalProcesses(LeaseExpiry):
    """The rule, plus a shortcut for a holder on this host (e.g. "ann-laptop:4242:1f3a9c0e"):
    its process is gone, so it is gone before its lease runs out. A holder on any other host is
    judged by its lease alone: its PID means nothing here."""

    host: str = field(default_factory=socket.gethostname)

    def gone(self, owner: str | None, expires_at: datetime | None) -> bool:
        if super().gone(owner, expires_at):
            return True
        host, _, rest = (owner or "").partition(":")
        pid = rest.split(":")[0]
        if host != self.host or not pid.isdigit():
            return False
        return not _process_alive(int(pid))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


class Heartbeat:
    """Calls `renew` every RENEW_EVERY_S seconds on a daemon thread until stopped, so a long
    state never lets its lease lapse. `renew` returns False once the lease is lost."""

    def __init__(self, renew: Callable[[], bool], every_s: float = RENEW_EVERY_S) -> None:
        self.lost = False
        self._renew, self._every = renew, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="medalist-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not self._renew():
                    self.lost = True
                    return
            except Exception:  # a busy metastore: the next beat tries again
                continue
