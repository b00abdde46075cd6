"""Deliver the outbox: every due alert, to its channel, with backoff on failure. An alert stays
in the outbox until its channel takes it; a lease keeps two senders from sending it at once."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import timedelta

from medalist.leases import new_owner
from medalist.metastore import now
from medalist.notify import Notifier
from medalist.runlog import Outbox

FIRST_RETRY_S = 5.0
MAX_RETRY_S = 900.0
SEND_LEASE = timedelta(minutes=2)


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)  # alert keys
    failed: dict[str, str] = field(default_factory=dict)  # key -> error


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 5 s, 10 s, 20 s, … at most 15 minutes."""
    return timedelta(seconds=min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S))


def deliver_due(outbox: Outbox, notifiers: dict[str, Notifier], *, force: bool = False) -> Delivery:
    """Send every due alert once (all undelivered ones with `force`); never raises."""
    owner, done = new_owner(), Delivery()
    try:
        pending = outbox.undelivered() if force else outbox.due_alerts(now())
    except Exception as exc:  # a busy metastore: the next call delivers
        print(f"medalist: cannot read the alert outbox: {exc}", file=sys.stderr)
        return done
    for alert in pending:
        if not outbox.take_alert(alert.key, owner, now() + SEND_LEASE):
            continue  # another sender has it
        notifier = notifiers.get(alert.channel)
        try:
            if notifier is None:
                raise LookupError(f"no channel {alert.channel!r} in pipeline.yaml any more")
            notifier.send(alert.message)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            outbox.alert_failed(alert.key, error, now() + backoff(alert.attempts + 1))
            done.failed[alert.key] = error
            print(f"medalist: alert via {alert.channel} failed: {exc}", file=sys.stderr)
        else:
            outbox.alert_sent(alert.key, now())
            done.sent.append(alert.key)
    return done
