"""The datasets list, and one dataset: its contract, schema versions and daily charts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from medalist.web import charts, views
from medalist.web.auth import Auth
from medalist.web.context import Dash
from medalist.web.render import page
from medalist.web.run_access import dataset

router = APIRouter(include_in_schema=False)


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(request: Request, dash: Dash, s: Auth) -> HTMLResponse:
    data = [views.dataset_view(dash.pipeline, dash.ports, n) for n in dash.pipeline.datasets]
    return page(request, dash, s, "datasets.html", datasets=data)


@router.get("/datasets/{name}", response_class=HTMLResponse)
def dataset_page(request: Request, dash: Dash, s: Auth, name: str) -> HTMLResponse:
    data = dataset(dash, name)
    svg = {
        "rows": charts.bars(
            data["days"], {"rows": data["rows_silver"]}, title="Rows into silver per day"
        ),
        "bad": charts.bars(
            data["days"], {"FAILED": data["bad_rate"]}, title="Bad-row rate per day", unit="%"
        ),
    }
    return page(request, dash, s, "dataset.html", d=data, svg=svg)
