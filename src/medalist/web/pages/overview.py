"""The overview: runs, rows and failures per day, and each dataset's freshness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from medalist.web import charts, views
from medalist.web.auth import Auth
from medalist.web.context import Dash
from medalist.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, dash: Dash, s: Auth) -> HTMLResponse:
    data = views.overview(dash.pipeline, dash.ports)
    labels = data["labels"]
    svg = {
        "runs": charts.bars(labels, data["per_status"], title="Runs per day by status"),
        "loaded": charts.bars(labels, {"rows": data["loaded"]}, title="Rows loaded per day"),
        "failures": charts.bars(
            labels, {"FAILED": data["failure_rate"]}, title="Failure rate", unit="%"
        ),
        "duration": charts.bars(
            labels, {"s": data["median_duration"]}, title="Median duration", unit=" s"
        ),
    }
    return page(request, dash, s, "overview.html", data=data, svg=svg)
