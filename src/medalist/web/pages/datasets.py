"""The datasets, the gold models (SQL, inputs, last build) and the lineage graph; one
dataset: its contract as written, schema versions and daily charts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from medalist.metastore import now
from medalist.web import views
from medalist.web.auth import Auth
from medalist.web.context import Dash
from medalist.web.contract_text import contract_yaml
from medalist.web.lineage import lineage, models_view, svg
from medalist.web.render import page
from medalist.web.run_access import dataset
from medalist.web.timeline import dataset_charts

router = APIRouter(include_in_schema=False)


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(request: Request, dash: Dash, s: Auth) -> HTMLResponse:
    data = [views.dataset_view(dash.pipeline, dash.ports, n) for n in dash.pipeline.datasets]
    nodes, edges = lineage(dash.pipeline)
    return page(
        request,
        dash,
        s,
        "datasets.html",
        datasets=data,
        models=models_view(dash.pipeline, dash.ports),
        graph=svg(nodes, edges),
    )


@router.get("/datasets/{name}", response_class=HTMLResponse)
def dataset_page(request: Request, dash: Dash, s: Auth, name: str) -> HTMLResponse:
    data = dataset(dash, name)
    runs = dash.ports.runlog.list(dataset=name, limit=20_000)
    charts_ = dataset_charts(runs, now())
    text, as_written = contract_yaml(dash.pipeline, name)
    return page(
        request,
        dash,
        s,
        "dataset.html",
        d=data,
        charts=charts_,
        contract=text,
        as_written=as_written,
    )
