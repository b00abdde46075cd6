"""How the dashboard answers: pages from templates, errors as a page or as JSON (by path),
CSV downloads, and values made JSON-safe."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from medalist.access import Session
from medalist.web.context import Dashboard
from medalist.web.formats import FILTERS

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(FILTERS)


def page(request: Request, dash: Dashboard, s: Session, name: str, **context: Any) -> HTMLResponse:
    """A page for the session's user, with what base.html needs."""
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": s.user,
            "csrf": s.csrf,
            "pipeline": dash.pipeline,
            "single_user": dash.users.single_user(),
            **context,
        },
    )


def error(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """A refusal: JSON `{"detail": ...}` under /api/, an error page elsewhere."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return HTMLResponse(
        templates.get_template("error.html").render(message=message, status=status),
        status_code=status,
        headers=headers,
    )


def jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def csv_download(columns: list[str], rows: list[tuple[Any, ...]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="query.csv"'},
    )
