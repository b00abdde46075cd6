"""The runs list, filtered by status, dataset and day; it refreshes while runs are running."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from medalist.runlog import Status
from medalist.web.auth import Auth
from medalist.web.context import Dash
from medalist.web.render import page
from medalist.web.run_access import list_runs

router = APIRouter(include_in_schema=False)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    dash: Dash,
    s: Auth,
    status: Status | None = None,
    dataset: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    runs = list_runs(dash, s.user, status, dataset, day)
    live = any(r["status"] == "RUNNING" for r in runs)
    return page(
        request, dash, s, "runs.html", runs=runs, live=live, status=status, dataset=dataset, day=day
    )
