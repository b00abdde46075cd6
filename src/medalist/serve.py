"""`medalist serve` / `medalist watch`: one long-running loop that starts runs when files land
(file events, plus polling) and on the cron schedule, delivers waiting alerts, and stops cleanly.

Every run still goes through `run_pipeline`, so the claim makes each file run exactly once
whichever trigger saw it first, and whatever other process (`medalist run`, another server)
watches the same landing folder. One JSON line per event goes to `log`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from medalist.attention import Unmatched
from medalist.config import Pipeline, TriggerSpec
from medalist.controller import Outcome, run_pipeline
from medalist.errors import MedalistError
from medalist.metastore import iso, now
from medalist.notify.outbox import deliver_due
from medalist.runlog import RunRecord
from medalist.triggers.schedule import next_tick
from medalist.triggers.watch import LandingWatcher
from medalist.wiring import open_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner

ALERT_RETRY_EVERY_S = 1.0  # how often the loop looks for alerts whose retry is due


class Server:
    def __init__(
        self,
        pipeline: Pipeline,
        log: TextIO,
        *,
        events: bool,
        schedule: bool,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.pipeline, self.log, self.clock = pipeline, log, clock
        self.events, self.schedule = events, schedule
        self.ports = open_ports(pipeline)
        self.runner = Runner(INGEST)
        self.stop = threading.Event()
        self.wake = threading.Event()
        self._lock = threading.Lock()
        self._unmatched: set[str] = set()  # reported already
        self.extract_at: dict[str, datetime | None] = {}

    def emit(self, event: str, **fields: Any) -> None:
        """One JSON object per line: what happened, and when."""
        line = json.dumps({"at": iso(self.clock()), "event": event, **fields}, default=str)
        with self._lock:
            self.log.write(line + "\n")
            self.log.flush()

    def tick(self, reason: str) -> Outcome:
        """Process what has landed (and settled) now."""
        trigger = self.pipeline.trigger
        outcome = run_pipeline(
            self.pipeline,
            self.ports,
            self.runner,
            on_start=lambda r: self.emit("run.started", reason=reason, **_brief(r)),
            settle_s=trigger.settle_seconds,
            should_stop=self.stop.is_set,
        )
        for run in outcome.runs:
            self.emit(
                "run.finished",
                **_brief(run),
                outcome=run.outcome,
                warnings=run.warnings,
                state=run.state,
                rows_in=run.rows_in,
                rows_quarantined=run.rows_quarantined,
                duration_s=run.duration_s,
                error=(run.error or {}).get("message"),
            )
        for path in outcome.busy:
            self.emit("file.busy", file=path)
        self._report_unmatched(outcome.unmatched)
        return outcome

    def _report_unmatched(self, unmatched: list[Unmatched]) -> None:
        """One `landing.unmatched` line per file no dataset reads, when it is first seen (not
        at every poll); again after a restart."""
        for u in unmatched:
            if u.path not in self._unmatched:
                self.emit("landing.unmatched", file=u.path, hint=u.hint)
        self._unmatched = {u.path for u in unmatched}

    def serve(self, *, once: bool = False) -> None:
        """Run until `stop` is set (or one tick with `once`)."""
        trigger = self.pipeline.trigger
        self.emit(
            "serve.started",
            pipeline=self.pipeline.name,
            mode=trigger.mode,
            events=self.events,
            schedule=trigger.schedule if self.schedule else None,
            timezone=trigger.timezone,
            once=once,
        )
        if once:
            self.tick("once")
            self.emit("serve.stopped", pipeline=self.pipeline.name)
            return
        # Landing on S3 has no file events here (S3 notifications are the AWS trigger's): the
        # loop's polling finds new objects.
        watcher = None
        if not self.pipeline.lake_on_s3:
            watcher = LandingWatcher(self.pipeline.lake_path / "landing", self.wake)
        if self.events and watcher:
            watcher.start()
        tick_at = next_tick(trigger, self.clock()) if self.schedule else None
        if tick_at:
            self.emit("schedule.next", at=iso(tick_at))
        self.extract_at = {name: self._next_extract(name) for name in self._scheduled_sources()}
        # Files that landed while nobody was watching.
        pending = self.tick("startup").settling if self.events else []
        scanned = time.monotonic()
        try:
            while not self.stop.is_set():
                woke = self.wake.wait(self._timeout(tick_at, bool(pending)))
                self.wake.clear()
                if self.stop.is_set():
                    break
                poll_due = time.monotonic() - scanned >= trigger.poll_seconds
                if self._extract_due():  # sources.*.schedule: extract, then run what landed
                    pending = self.tick("extract").settling
                    scanned = time.monotonic()
                elif tick_at and self.clock() >= tick_at:
                    pending = self.tick("schedule").settling
                    tick_at = next_tick(trigger, self.clock())
                    self.emit("schedule.next", at=iso(tick_at))
                    scanned = time.monotonic()
                elif self.events and (woke or pending or poll_due):
                    pending = self.tick("event" if woke else "poll").settling
                    scanned = time.monotonic()
                deliver_due(self.ports.outbox, self.ports.notifiers)
        finally:
            if watcher:
                watcher.stop()
            self.emit("serve.stopped", pipeline=self.pipeline.name)

    def _timeout(self, tick_at: datetime | None, settling: bool) -> float:
        """Sleep until the next thing to do: a poll, a settled file, the tick, an alert retry."""
        trigger = self.pipeline.trigger
        waits = [ALERT_RETRY_EVERY_S]
        if self.events:
            waits.append(trigger.poll_seconds)
            if settling:
                waits.append(max(trigger.settle_seconds / 2, 0.05))
        for at in [tick_at, *self.extract_at.values()]:
            if at:
                waits.append(max((at - self.clock()).total_seconds(), 0.0))
        return min(waits)

    def _scheduled_sources(self) -> list[str]:
        return [n for n, source in self.pipeline.sources.items() if source.schedule]

    def _next_extract(self, source: str) -> datetime | None:
        """The source's next cron tick, read in trigger.timezone like the pipeline's own."""
        spec = TriggerSpec.model_validate(
            {
                "mode": "schedule",
                "schedule": self.pipeline.sources[source].schedule,
                "timezone": self.pipeline.trigger.timezone,
            }
        )
        at = next_tick(spec, self.clock())
        self.emit("extract.next", source=source, at=iso(at) if at else None)
        return at

    def _extract_due(self) -> bool:
        """Extract each source whose tick has come; True if any did."""
        due = [n for n, at in self.extract_at.items() if at and self.clock() >= at]
        for name in due:
            from medalist.integration.extract import extract

            try:
                runs = extract(self.pipeline, self.ports, name)
            except MedalistError as exc:  # e.g. another extract holds the table: next tick
                self.emit("extract.failed", source=name, error=str(exc))
                runs = []
            for run in runs:
                error = (run.error or {}).get("message")
                self.emit("extract.finished", **_brief(run), rows_in=run.rows_in, error=error)
            self.extract_at[name] = self._next_extract(name)
        return bool(due)


def _brief(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "dataset": run.dataset,
        "file": run.file,
        "status": str(run.status),
    }
