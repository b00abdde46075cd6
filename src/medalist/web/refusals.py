"""Refusals as HTTP: each error class its status (decision 0014), documented in OpenAPI with
the same body everywhere, and answered as JSON or as a page by render.error."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from medalist.errors import MedalistError, NotFound, Refused
from medalist.operate import RetryBusy, RetryTooSoon
from medalist.query import BadQuery
from medalist.web import render
from medalist.web.auth import NeedsLogin


class ErrorOut(BaseModel):
    """Every refusal's body: what went wrong and what to do, in one sentence or two."""

    detail: str


# Status codes by error class, most specific first (decision 0014).
STATUS: tuple[tuple[type[MedalistError], int], ...] = (
    (BadQuery, 400),
    (RetryBusy, 409),
    (RetryTooSoon, 429),
    (NotFound, 404),
    (Refused, 403),
)


def status_of(exc: Exception) -> int:
    """The HTTP status of a refusal (STATUS): 400 bad query, 403 not allowed, 404, 409, 429."""
    return next(code for kind, code in STATUS if isinstance(exc, kind))


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    what = {
        400: "The query is malformed, too big or too deep, or the engine could not run it.",
        401: "No token, or an unknown one: send Authorization: Bearer TOKEN.",
        403: "The caller's role may not do or see this.",
        404: "No such run or dataset.",
        409: "The run is being retried or resumed right now.",
        429: "The run was retried too recently; Retry-After says how long to wait.",
    }
    return {code: {"model": ErrorOut, "description": what[code]} for code in codes}


READ = documented(401, 403, 404)


def install(app: FastAPI) -> None:
    """Answer refusals with their status, and pages without a session with /login."""

    async def login(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    async def refused(request: Request, exc: Exception) -> Response:
        headers = {}
        if isinstance(exc, RetryTooSoon):
            headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return render.error(request, status_of(exc), str(exc), headers)

    app.add_exception_handler(NeedsLogin, login)
    for kind, _status in STATUS:
        app.add_exception_handler(kind, refused)
