"""The dashboard: pages for people, `/api/...` for programs (OpenAPI at /openapi.json), both
checked against the caller's role on every request.

Auth: a browser logs in with its token and gets a session cookie (HttpOnly, SameSite=Strict);
every form carries the session's CSRF token. Programs send `Authorization: Bearer TOKEN`. With
no users at all, everyone is the local admin (the CLI refuses to bind beyond 127.0.0.1 then).
"""

import csv
import io
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from medalist.access import Session, User, Users
from medalist.config import Pipeline
from medalist.errors import NotFound, Refused
from medalist.operate import retry_run
from medalist.query import DOWNLOAD_ROWS, Console
from medalist.runlog import Status
from medalist.web import charts, views
from medalist.wiring import local_ports
from medalist.workflow.context import Ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner

HERE = Path(__file__).parent
COOKIE = "medalist_session"


class QueryIn(BaseModel):
    sql: str
    page: int = 0


class NeedsLogin(Exception):
    pass


def create_app(pipeline: Pipeline, ports: Ports | None = None) -> FastAPI:
    app = FastAPI(
        title=f"medalist: {pipeline.name}",
        docs_url=None,  # Swagger UI loads from a CDN: the OpenAPI JSON is enough
        redoc_url=None,
    )
    ports = ports or local_ports(pipeline)
    users = Users(pipeline)
    local_csrf = secrets.token_urlsafe(24)  # single-user mode still protects its forms
    templates = Jinja2Templates(directory=HERE / "templates")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def session(request: Request) -> Session:
        if users.single_user():
            return Session(users.local_admin(), local_csrf)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = users.by_token(header[7:].strip())
            if user is None:
                raise HTTPException(401, "unknown token")
            return Session(user, "")  # no cookie, so no CSRF to check
        found = users.session(request.cookies.get(COOKIE, ""))
        if found is None:
            if request.url.path.startswith("/api/"):
                raise HTTPException(401, "log in: send Authorization: Bearer TOKEN")
            raise NeedsLogin()
        return found

    Auth = Annotated[Session, Depends(session)]

    def check_csrf(s: Session, given: str) -> None:
        if s.csrf and not secrets.compare_digest(s.csrf, given):
            raise HTTPException(403, "the form is stale or forged (CSRF check failed): reload")

    def page(request: Request, s: Session, name: str, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            name,
            {
                "user": s.user,
                "csrf": s.csrf,
                "pipeline": pipeline,
                "single_user": users.single_user(),
                **context,
            },
        )

    @app.exception_handler(NeedsLogin)
    async def _login(request: Request, exc: NeedsLogin) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc))

    def _error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=status)
        return HTMLResponse(
            templates.get_template("error.html").render(message=message, status=status),
            status_code=status,
        )

    # -- login ---------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, error: str | None = None) -> HTMLResponse:
        return templates.TemplateResponse(request, "login.html", {"error": error})

    @app.post("/login", include_in_schema=False)
    def login(token: Annotated[str, Form()]) -> Response:
        user = users.by_token(token.strip())
        if user is None:
            return RedirectResponse("/login?error=unknown+token", status_code=303)
        sid, _ = users.open_session(user)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, s: Auth, csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(s, csrf)
        users.close_session(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- pages ---------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview_page(request: Request, s: Auth) -> HTMLResponse:
        data = views.overview(pipeline, ports)
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
        return page(request, s, "overview.html", data=data, svg=svg)

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(
        request: Request,
        s: Auth,
        status: Status | None = None,
        dataset: str | None = None,
        day: str | None = None,
    ) -> HTMLResponse:
        runs = _runs(s.user, status, dataset, day)
        live = any(r["status"] == "RUNNING" for r in runs)
        return page(
            request, s, "runs.html", runs=runs, live=live, status=status, dataset=dataset, day=day
        )

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, s: Auth, run_id: str) -> HTMLResponse:
        run = ports.runlog.get(run_id)
        sample: tuple[list[str], list[Any]] = ([], [])
        if s.user.sees("quarantine"):
            sample = views.quarantine_sample(ports, run)
        return page(
            request,
            s,
            "run.html",
            run=views.run_view(run, s.user),
            graph=charts.workflow(views.state_boxes(run)),
            sample=sample,
            can_retry=s.user.role.operate and run.status == Status.FAILED,
        )

    @app.post("/runs/{run_id}/retry", include_in_schema=False)
    def retry_form(s: Auth, run_id: str, csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(s, csrf)
        run = _retry(s.user, run_id)
        return RedirectResponse(f"/runs/{run['run_id']}", status_code=303)

    @app.get("/datasets", response_class=HTMLResponse, include_in_schema=False)
    def datasets_page(request: Request, s: Auth) -> HTMLResponse:
        data = [views.dataset_view(pipeline, ports, n) for n in pipeline.datasets]
        return page(request, s, "datasets.html", datasets=data)

    @app.get("/datasets/{name}", response_class=HTMLResponse, include_in_schema=False)
    def dataset_page(request: Request, s: Auth, name: str) -> HTMLResponse:
        data = _dataset(name)
        svg = {
            "rows": charts.bars(
                data["days"], {"rows": data["rows_silver"]}, title="Rows into silver per day"
            ),
            "bad": charts.bars(
                data["days"], {"FAILED": data["bad_rate"]}, title="Bad-row rate per day", unit="%"
            ),
        }
        return page(request, s, "dataset.html", d=data, svg=svg)

    @app.get("/query", response_class=HTMLResponse, include_in_schema=False)
    def query_page(request: Request, s: Auth) -> HTMLResponse:
        return page(
            request,
            s,
            "query.html",
            sql="",
            result=None,
            error=None,
            page_no=0,
            history=users.history(s.user.name),
        )

    @app.post("/query", response_class=HTMLResponse, include_in_schema=False)
    def query_form(
        request: Request,
        s: Auth,
        sql: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
        page_no: Annotated[int, Form()] = 0,
        download: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(s, csrf)
        console = Console(pipeline, ports, s.user, users)
        try:
            if download:
                result = console.run(sql, page_rows=DOWNLOAD_ROWS)
                return _csv(result.columns, result.rows)
            result = console.run(sql, page=max(page_no, 0))
            error = None
        except Refused as exc:
            result, error = None, str(exc)
        response = page(
            request,
            s,
            "query.html",
            sql=sql,
            result=result,
            error=error,
            page_no=page_no,
            history=users.history(s.user.name),
        )
        if error:
            response.status_code = 403
        return response

    # -- API -----------------------------------------------------------------------------------

    @app.get("/api/overview")
    def api_overview(s: Auth) -> dict[str, Any]:
        return views.overview(pipeline, ports)

    @app.get("/api/runs")
    def api_runs(
        s: Auth, status: Status | None = None, dataset: str | None = None, day: str | None = None
    ) -> list[dict[str, Any]]:
        return _runs(s.user, status, dataset, day)

    @app.get("/api/runs/{run_id}")
    def api_run(s: Auth, run_id: str) -> dict[str, Any]:
        return views.run_view(ports.runlog.get(run_id), s.user)

    @app.get("/api/runs/{run_id}/quarantine")
    def api_quarantine(s: Auth, run_id: str) -> dict[str, Any]:
        s.user.require("quarantine")
        columns, rows = views.quarantine_sample(ports, ports.runlog.get(run_id), limit=100)
        return {"columns": columns, "rows": [list(map(_jsonable, r)) for r in rows]}

    @app.post("/api/runs/{run_id}/retry")
    def api_retry(s: Auth, run_id: str) -> dict[str, Any]:
        return _retry(s.user, run_id)

    @app.get("/api/datasets")
    def api_datasets(s: Auth) -> list[dict[str, Any]]:
        return [views.dataset_view(pipeline, ports, n) for n in pipeline.datasets]

    @app.get("/api/datasets/{name}")
    def api_dataset(s: Auth, name: str) -> dict[str, Any]:
        return _dataset(name)

    @app.post("/api/query")
    def api_query(s: Auth, body: QueryIn) -> dict[str, Any]:
        result = Console(pipeline, ports, s.user, users).run(body.sql, page=max(body.page, 0))
        return {
            "columns": result.columns,
            "rows": [list(map(_jsonable, r)) for r in result.rows],
            "has_more": result.has_more,
            "seconds": round(result.seconds, 3),
        }

    @app.get("/api/query/history")
    def api_history(s: Auth) -> list[dict[str, Any]]:
        return users.history(s.user.name)

    # -- shared --------------------------------------------------------------------------------

    def _runs(user: User, status: Status | None, dataset: str | None, day: str | None) -> list:
        records = ports.runlog.list(dataset=dataset, status=status, limit=500)
        if day:
            records = [r for r in records if r.started_at.date().isoformat() == day]
        return [views.run_view(r, user) for r in records]

    def _dataset(name: str) -> dict[str, Any]:
        if name not in pipeline.datasets:
            raise NotFound(f"no dataset {name!r}", fix=f"Datasets: {', '.join(pipeline.datasets)}.")
        return views.dataset_view(pipeline, ports, name)

    def _retry(user: User, run_id: str) -> dict[str, Any]:
        if not user.role.operate:
            raise Refused(
                f"role {user.role_name} may not operate runs",
                fix="Ask an admin for a role with operate: true.",
            )
        outcome = retry_run(pipeline, ports, Runner(INGEST), run_id)
        if not outcome.runs:
            raise Refused(f"run {run_id} could not be retried now: another process holds it")
        return views.run_view(outcome.runs[0], user)

    return app


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _csv(columns: list[str], rows: list[tuple[Any, ...]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="query.csv"'},
    )
