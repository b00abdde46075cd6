"""The runs list: searched by dataset, file, outcome and time range, sorted by any column,
paged; running runs show their state and rows so far, polled from the API."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from medalist.runlog import Outcome
from medalist.web.auth import Auth
from medalist.web.context import Dash
from medalist.web.render import page
from medalist.web.run_search import RunSearch, Sort, moment, search

router = APIRouter(include_in_schema=False)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    dash: Dash,
    s: Auth,
    status: Outcome | Literal[""] = "",
    dataset: str = "",
    q: str = "",
    since: str = "",
    until: str = "",
    day: str = "",  # one day: the older links' filter
    sort: Sort = "started",
    dir: Literal["asc", "desc"] = "desc",
    page_no: Annotated[int, Query(alias="page", ge=0, le=1_000_000)] = 0,
    per: Annotated[int, Query(ge=1, le=500)] = 50,
) -> HTMLResponse:
    names = s.user.sees("landing")  # else file names are hidden: no search or sort by them
    query = RunSearch(
        dataset=dataset or None,
        outcome=status or None,
        file=(q.strip() or None) if names else None,
        since=moment(since or day),
        until=moment(until or day, end=True),
        sort=sort if names or sort != "file" else "started",
        desc=dir == "desc",
        page=page_no,
        per=per,
    )
    runs, total = search(dash, s.user, query)
    return page(request, dash, s, "runs.html", runs=runs, total=total, query=query, names=names)
