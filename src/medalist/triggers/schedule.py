"""The cron schedule of `trigger:`, read in its time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from cronsim import CronSim

from medalist.config import TriggerSpec


def next_tick(trigger: TriggerSpec, after: datetime) -> datetime | None:
    """The first tick strictly after `after` (UTC), or None without a schedule."""
    if trigger.schedule is None:
        return None
    local = after.astimezone(trigger.zone)
    return next(CronSim(trigger.schedule, local)).astimezone(UTC)
