"""The runs page's search: filter by dataset, file, outcome and time range, sort by any
column, one page at a time. It reads the newest SCAN runs of the run log (a busy lake's
older runs are found with `medalist runs` or the query console)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import HTTPException

from medalist.access import User
from medalist.runlog import Outcome, RunRecord, Status
from medalist.web import views
from medalist.web.context import Dashboard

SCAN = 5_000
Sort = Literal["started", "duration", "dataset", "file", "outcome", "rows_in", "rows_loaded"]
SORTS: dict[str, Any] = {
    "started": lambda r: r.started_at,
    "duration": lambda r: r.duration_s if r.duration_s is not None else -1.0,
    "dataset": lambda r: r.dataset,
    "file": lambda r: r.file,
    "outcome": lambda r: r.outcome,
    "rows_in": lambda r: r.rows_in if r.rows_in is not None else -1,
    "rows_loaded": lambda r: r.rows_loaded if r.rows_loaded is not None else -1,
}


@dataclass(frozen=True)
class RunSearch:
    dataset: str | None = None
    outcome: Outcome | None = None
    file: str | None = None  # a part of the file's path, any case
    since: datetime | None = None
    until: datetime | None = None
    sort: Sort = "started"
    desc: bool = True
    page: int = 0
    per: int = 50

    def matches(self, run: RunRecord) -> bool:
        started = run.started_at.astimezone(UTC)
        return (
            (self.outcome is None or run.outcome == self.outcome)
            and (not self.file or self.file.lower() in run.file.lower())
            and (self.since is None or started >= self.since)
            and (self.until is None or started < self.until)
        )

    def link(self, **change: Any) -> str:
        """The runs page's URL for this search with some fields changed."""
        s = replace(self, **change)
        args = {
            "dataset": s.dataset,
            "status": s.outcome,
            "q": s.file,
            "since": s.since.strftime("%Y-%m-%dT%H:%M") if s.since else None,
            "until": s.until.strftime("%Y-%m-%dT%H:%M") if s.until else None,
            "sort": None if s.sort == "started" else s.sort,
            "dir": None if s.desc else "asc",
            "page": s.page or None,
            "per": None if s.per == 50 else s.per,
        }
        return "/runs?" + urlencode({k: v for k, v in args.items() if v})

    def sort_link(self, column: str) -> str:
        """Sort by `column`; again on the current column flips the direction."""
        desc = not self.desc if column == self.sort else column in ("started", "duration")
        return self.link(sort=column, desc=desc, page=0)


def moment(text: str | None, *, end: bool = False) -> datetime | None:
    """A form's date (YYYY-MM-DD) or datetime-local as UTC; a date `end` is the next midnight."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            400, f"{text!r} is not a date or a time: write YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if end and len(text) == 10:
        value += timedelta(days=1)
    return value.astimezone(UTC)


def search(dash: Dashboard, user: User, query: RunSearch) -> tuple[list[dict[str, Any]], int]:
    """(one page of runs as the pages show them, how many match)."""
    status = None
    if query.outcome is not None:
        status = Status.SUCCEEDED if query.outcome == "WARN" else Status(query.outcome)
    records = dash.ports.runlog.list(dataset=query.dataset, status=status, limit=SCAN)
    found = [r for r in records if query.matches(r)]
    found.sort(key=SORTS[query.sort], reverse=query.desc)
    start = query.page * query.per
    return [views.run_view(r, user) for r in found[start : start + query.per]], len(found)
