"""How long a run worked, as opposed to how long it existed: a FAILED run waits (hours, maybe)
until someone runs `medalist retry`, and that wait is nobody's work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from medalist.runlog import RunRecord, Status, Transition


def waited_s(history: Sequence[Transition]) -> float:
    """Seconds between each FAILED outcome and the step that followed it (a retry)."""
    total, failed_at = 0.0, None
    for step in history:
        if step.status == Status.FAILED:
            failed_at = step.at
        elif failed_at is not None:
            total += (step.at - failed_at).total_seconds()
            failed_at = None
    return total


def work_s(run: RunRecord, ended: datetime) -> float:
    """The run's duration: from its start to `ended`, less the waits for a retry."""
    elapsed = (ended - run.started_at).total_seconds()
    return round(max(elapsed - waited_s(run.history), 0.0), 3)


def elapsed_s(run: RunRecord) -> float | None:
    """From the run's first start to its end (work and waits), None while it runs."""
    if run.ended_at is None:
        return None
    return round((run.ended_at - run.started_at).total_seconds(), 3)
