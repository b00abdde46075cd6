"""The SQL console: a query, a page of its result (or a CSV download), and the history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from medalist.errors import Refused
from medalist.query import DOWNLOAD_ROWS, Console
from medalist.web.auth import Auth, check_csrf
from medalist.web.context import Dash
from medalist.web.refusals import status_of
from medalist.web.render import csv_download, page

router = APIRouter(include_in_schema=False)


@router.get("/query", response_class=HTMLResponse)
def query_page(request: Request, dash: Dash, s: Auth) -> HTMLResponse:
    return page(
        request,
        dash,
        s,
        "query.html",
        sql="",
        result=None,
        error=None,
        page_no=0,
        history=dash.users.history(s.user.name),
    )


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
    console = Console(dash.pipeline, dash.ports, s.user, dash.users)
    try:
        if download:
            result = console.run(sql, page_rows=DOWNLOAD_ROWS)
            return csv_download(result.columns, result.rows)
        result = console.run(sql, page=max(page_no, 0))
        error, status = None, 200
    except Refused as exc:
        result, error, status = None, str(exc), status_of(exc)
    response = page(
        request,
        dash,
        s,
        "query.html",
        sql=sql,
        result=result,
        error=error,
        page_no=page_no,
        history=dash.users.history(s.user.name),
    )
    if error:
        response.status_code = status
    return response
