"""One run: its workflow drawing, error, counts, drift, quarantined rows a page at a time,
its log state by state, and retry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medalist.runlog import Status
from medalist.web import charts, views
from medalist.web.auth import Auth, check_csrf
from medalist.web.context import Dash
from medalist.web.render import page
from medalist.web.run_access import retry
from medalist.web.run_detail import drift_table, quarantine_page, state_log

router = APIRouter(include_in_schema=False)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    dash: Dash,
    s: Auth,
    run_id: str,
    qpage: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    qper: Annotated[int, Query(ge=1, le=500)] = 20,
) -> HTMLResponse:
    run = dash.ports.runlog.get(run_id)
    sample: tuple[list[str], list[Any], int] = ([], [], 0)
    if s.user.sees("quarantine"):
        sample = quarantine_page(dash.pipeline, dash.ports, run, qpage, qper)
    return page(
        request,
        dash,
        s,
        "run.html",
        run=views.run_view(run, s.user),
        graph=charts.workflow(views.state_boxes(run)),
        sample=sample,
        qpage=qpage,
        qper=qper,
        drift=drift_table(dash.pipeline, run),
        log=state_log(run),
        can_retry=s.user.role.operate and run.status == Status.FAILED,
    )


@router.post("/runs/{run_id}/retry")
def retry_form(dash: Dash, s: Auth, run_id: str, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(s, csrf)
    run = retry(dash, s.user, run_id)
    return RedirectResponse(f"/runs/{run['run_id']}", status_code=303)
