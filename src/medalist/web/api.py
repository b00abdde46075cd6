"""`/api/...` for programs (OpenAPI at /openapi.json, to logged-in users once users exist):
the same data as the pages, as JSON, checked against the caller's role."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from medalist.query import MAX_SQL_CHARS
from medalist.runlog import Status
from medalist.web import run_access, views
from medalist.web.attention_panel import attention_panel
from medalist.web.auth import Auth
from medalist.web.console import run_query
from medalist.web.context import Dash
from medalist.web.refusals import READ, documented
from medalist.web.render import jsonable
from medalist.web.run_detail import quarantine_page

router = APIRouter()


class QueryIn(BaseModel):
    sql: str = Field(
        description=f"One SELECT, WITH, EXPLAIN or DESCRIBE, at most {MAX_SQL_CHARS:,} characters."
    )
    page: int = Field(0, ge=0, le=100_000, description="Which page of 100 rows.")


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, s: Auth) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/api/overview", responses=READ)
def api_overview(dash: Dash, s: Auth) -> dict[str, Any]:
    """Totals, 14 days of per-day series, freshness, and what needs attention."""
    data = views.overview(dash.pipeline, dash.ports)
    data["attention"] = attention_panel(dash.pipeline, dash.ports, s.user)
    return data


@router.get("/api/runs", responses=READ)
def api_runs(
    dash: Dash,
    s: Auth,
    status: Status | None = None,
    dataset: str | None = None,
    day: str | None = None,
) -> list[dict[str, Any]]:
    return run_access.list_runs(dash, s.user, status, dataset, day)


@router.get("/api/runs/{run_id}", responses=READ)
def api_run(dash: Dash, s: Auth, run_id: str) -> dict[str, Any]:
    return views.run_view(dash.ports.runlog.get(run_id), s.user)


@router.get("/api/runs/{run_id}/quarantine", responses=READ)
def api_quarantine(dash: Dash, s: Auth, run_id: str) -> dict[str, Any]:
    s.user.require("quarantine")
    run = dash.ports.runlog.get(run_id)
    columns, rows, _ = quarantine_page(dash.pipeline, dash.ports, run, 0, 100)
    return {"columns": columns, "rows": [list(map(jsonable, r)) for r in rows]}


@router.post("/api/runs/{run_id}/retry", responses=documented(401, 403, 404, 409, 429))
def api_retry(dash: Dash, s: Auth, run_id: str) -> dict[str, Any]:
    return run_access.retry(dash, s.user, run_id)


@router.get("/api/datasets", responses=READ)
def api_datasets(dash: Dash, s: Auth) -> list[dict[str, Any]]:
    return [views.dataset_view(dash.pipeline, dash.ports, n) for n in dash.pipeline.datasets]


@router.get("/api/datasets/{name}", responses=READ)
def api_dataset(dash: Dash, s: Auth, name: str) -> dict[str, Any]:
    return run_access.dataset(dash, name)


@router.post("/api/query", responses=documented(400, 401, 403))
def api_query(dash: Dash, s: Auth, body: QueryIn) -> dict[str, Any]:
    result = run_query(dash, s.user, body.sql, page=max(body.page, 0))
    return {
        "columns": result.columns,
        "rows": [list(map(jsonable, r)) for r in result.rows],
        "has_more": result.has_more,
        "seconds": round(result.seconds, 3),
    }


@router.get("/api/query/history", responses=READ)
def api_history(dash: Dash, s: Auth) -> list[dict[str, Any]]:
    return dash.users.history(s.user.name)
