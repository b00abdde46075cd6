"""File-system events on landing (inotify through watchdog). An event only wakes the server
loop, which then scans landing: events say *that* something changed, the scan decides *what*
to run, so a missed or doubled event can never lose or duplicate a run. Where events cannot be
had (some network mounts), the loop's polling alone does the job."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer


class _Wake(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.wake.set()


class LandingWatcher:
    """Sets `wake` whenever a file under `landing` is created, written, moved or closed."""

    def __init__(self, landing: Path, wake: threading.Event) -> None:
        self.observer = Observer()
        self.observer.daemon = True
        self.landing, self.wake, self.active = landing, wake, False

    def start(self) -> None:
        try:
            self.observer.schedule(_Wake(self.wake), str(self.landing), recursive=True)
            self.observer.start()
            self.active = True
        except OSError as exc:  # e.g. the inotify watch limit: polling still works
            print(f"medalist: file events unavailable ({exc}); polling landing", file=sys.stderr)

    def stop(self) -> None:
        if self.active:
            self.observer.stop()
            self.observer.join(timeout=5)
