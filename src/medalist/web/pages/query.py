"""The SQL console: the role's tables and columns beside the editor, a page of the result
with its total row count (or a CSV download), and the history, refused queries included."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from medalist.access import Session
from medalist.errors import Refused
from medalist.query import DOWNLOAD_ROWS, PAGE_ROWS
from medalist.web.auth import Auth, check_csrf
from medalist.web.console import run_query, tables, total_rows
from medalist.web.context import Dash, Dashboard
from medalist.web.refusals import status_of
from medalist.web.render import csv_download, page

router = APIRouter(include_in_schema=False)


@router.get("/query", response_class=HTMLResponse)
def query_page(request: Request, dash: Dash, s: Auth) -> HTMLResponse:
    return _page(request, dash, s, sql="", result=None, error=None, page_no=0, total=None)


@router.post("/query", response_class=HTMLResponse)
def query_form(
    request: Request,
    dash: Dash,
    s: Auth,
    sql: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    page_no: Annotated[int, Form()] = 0,
    download: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(s, csrf)
    total = None
    try:
        if download:
            result = run_query(dash, s.user, sql, page_rows=DOWNLOAD_ROWS)
            return csv_download(result.columns, result.rows)
        result = run_query(dash, s.user, sql, page=max(page_no, 0))
        error, status = None, 200
        if result.has_more or page_no > 0:
            total = total_rows(dash, s.user, sql)
        else:
            total = len(result.rows)
    except Refused as exc:
        result, error, status = None, str(exc), status_of(exc)
    response = _page(
        request, dash, s, sql=sql, result=result, error=error, page_no=page_no, total=total
    )
    if error:
        response.status_code = status
    return response


def _page(request: Request, dash: Dashboard, s: Session, **context: Any) -> HTMLResponse:
    return page(
        request,
        dash,
        s,
        "query.html",
        tables=tables(dash, s.user),
        per=PAGE_ROWS,
        history=dash.users.history(s.user.name),
        **context,
    )
