"""The overview: what needs attention now, runs, rows, failures and run time over the last
day, 14 days or 90 days (uPlot charts), and each dataset's freshness."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from medalist.metastore import now
from medalist.web import views
from medalist.web.attention_panel import attention_panel
from medalist.web.auth import Auth
from medalist.web.context import Dash
from medalist.web.render import page
from medalist.web.timeline import SPANS, timeline

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request, dash: Dash, s: Auth, span: Literal["1d", "14d", "90d"] = "14d"
) -> HTMLResponse:
    data = views.overview(dash.pipeline, dash.ports)
    runs = dash.ports.runlog.list(limit=20_000)
    return page(
        request,
        dash,
        s,
        "overview.html",
        data=data,
        attention=attention_panel(dash.pipeline, dash.ports, s.user),
        charts=timeline(runs, span, now()),
        span=span,
        spans=list(SPANS),
    )
