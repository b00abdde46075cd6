"""Leases: who is working on a run or holds a lock, and when a holder counts as gone.

An owner is `host:pid:token`. The token tells apart two runners in one process; host and pid
let a trigger on the same machine see at once that the holder's process has died. On another
machine only the lease's expiry can tell, so a live holder renews its leases (`Heartbeat`).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import uuid4

from medalist.metastore import now

LEASE = timedelta(minutes=2)
RENEW_EVERY_S = 20.0


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"


def owner_gone(owner: str | None, expires_at: datetime | None) -> bool:
    """True when the lease expired, or its holder ran on this host and its process is gone."""
    if expires_at is not None and expires_at < now():
        return True
    host, _, rest = (owner or "").partition(":")
    pid = rest.split(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


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
