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
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from medalist.access import Session, User, Users
from medalist.config import Pipeline
from medalist.errors import MedalistError, NotFound, Refused
from medalist.operate import RetryBusy, RetryTooSoon, retry_run
from medalist.query import DOWNLOAD_ROWS, MAX_SQL_CHARS, BadQuery, Console
from medalist.redact import lake_secret, redactor_for
from medalist.runlog import Status
from medalist.web import charts, views
from medalist.web.redaction import USER, Redacting
from medalist.wiring import open_ports
from medalist.workflow.context import Ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner

HERE = Path(__file__).parent
COOKIE = "medalist_session"


class QueryIn(BaseModel):
    sql: str = Field(
        description=f"One SELECT, WITH, EXPLAIN or DESCRIBE, at most {MAX_SQL_CHARS:,} characters."
    )
    page: int = Field(0, ge=0, le=100_000, description="Which page of 100 rows.")


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


def _documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    what = {
        400: "The query is malformed, too big or too deep, or the engine could not run it.",
        401: "No token, or an unknown one: send Authorization: Bearer TOKEN.",
        403: "The caller's role may not do or see this.",
        404: "No such run or dataset.",
        409: "The run is being retried or resumed right now.",
        429: "The run was retried too recently; Retry-After says how long to wait.",
    }
    return {code: {"model": ErrorOut, "description": what[code]} for code in codes}


READ = _documented(401, 403, 404)


class NeedsLogin(Exception):
    pass


def create_app(pipeline: Pipeline, ports: Ports | None = None) -> FastAPI:
    app = FastAPI(
        title=f"medalist: {pipeline.name}",
        docs_url=None,  # Swagger UI loads from a CDN: the OpenAPI JSON is enough
        redoc_url=None,
        openapi_url=None,  # served below, to logged-in users only when users exist
    )
    ports = ports or open_ports(pipeline)
    the_ports = ports
    users = Users(pipeline)
    lake = lake_secret(pipeline)
    app.add_middleware(Redacting, redactor_for=lambda user: redactor_for(user, the_ports, lake))
    bearer = HTTPBearer(auto_error=False, description="A token from `medalist users add`.")
    local_csrf = secrets.token_urlsafe(24)  # single-user mode still protects its forms
    templates = Jinja2Templates(directory=HERE / "templates")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def session(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
    ) -> Session:
        found = _session(request)
        setattr(request.state, USER, found.user)  # whom the response is redacted for
        return found

    def _session(request: Request) -> Session:
        if users.single_user():
            return Session(users.local_admin(), local_csrf)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = users.by_token(header[7:].strip())
            if user is None:
                raise HTTPException(401, "unknown token", {"WWW-Authenticate": "Bearer"})
            return Session(user, "")  # no cookie, so no CSRF to check
        found = users.session(request.cookies.get(COOKIE, ""))
        if found is None:
            if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
                raise HTTPException(
                    401,
                    "log in: send Authorization: Bearer TOKEN",
                    {"WWW-Authenticate": "Bearer"},
                )
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

    async def _refused(request: Request, exc: Exception) -> Response:
        status = status_of(exc)
        headers = {}
        if isinstance(exc, RetryTooSoon):
            headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return _error(request, status, str(exc), headers)

    for kind, _status in STATUS:
        app.add_exception_handler(kind, _refused)

    def _error(
        request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=status, headers=headers)
        return HTMLResponse(
            templates.get_template("error.html").render(message=message, status=status),
            status_code=status,
            headers=headers,
        )

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(s: Auth) -> JSONResponse:
        return JSONResponse(app.openapi())

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
            error, status = None, 200
        except Refused as exc:
            result, error, status = None, str(exc), status_of(exc)
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
            response.status_code = status
        return response

    # -- API -----------------------------------------------------------------------------------

    @app.get("/api/overview", responses=READ)
    def api_overview(s: Auth) -> dict[str, Any]:
        return views.overview(pipeline, ports)

    @app.get("/api/runs", responses=READ)
    def api_runs(
        s: Auth, status: Status | None = None, dataset: str | None = None, day: str | None = None
    ) -> list[dict[str, Any]]:
        return _runs(s.user, status, dataset, day)

    @app.get("/api/runs/{run_id}", responses=READ)
    def api_run(s: Auth, run_id: str) -> dict[str, Any]:
        return views.run_view(ports.runlog.get(run_id), s.user)

    @app.get("/api/runs/{run_id}/quarantine", responses=READ)
    def api_quarantine(s: Auth, run_id: str) -> dict[str, Any]:
        s.user.require("quarantine")
        columns, rows = views.quarantine_sample(ports, ports.runlog.get(run_id), limit=100)
        return {"columns": columns, "rows": [list(map(_jsonable, r)) for r in rows]}

    @app.post("/api/runs/{run_id}/retry", responses=_documented(401, 403, 404, 409, 429))
    def api_retry(s: Auth, run_id: str) -> dict[str, Any]:
        return _retry(s.user, run_id)

    @app.get("/api/datasets", responses=READ)
    def api_datasets(s: Auth) -> list[dict[str, Any]]:
        return [views.dataset_view(pipeline, ports, n) for n in pipeline.datasets]

    @app.get("/api/datasets/{name}", responses=READ)
    def api_dataset(s: Auth, name: str) -> dict[str, Any]:
        return _dataset(name)

    @app.post("/api/query", responses=_documented(400, 401, 403))
    def api_query(s: Auth, body: QueryIn) -> dict[str, Any]:
        result = Console(pipeline, ports, s.user, users).run(body.sql, page=max(body.page, 0))
        return {
            "columns": result.columns,
            "rows": [list(map(_jsonable, r)) for r in result.rows],
            "has_more": result.has_more,
            "seconds": round(result.seconds, 3),
        }

    @app.get("/api/query/history", responses=READ)
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
            raise RetryBusy(f"run {run_id} could not be retried now: another process holds it")
        return views.run_view(outcome.runs[0], user)

    return app


def status_of(exc: Exception) -> int:
    """The HTTP status of a refusal (STATUS): 400 bad query, 403 not allowed, 404, 409, 429."""
    return next(code for kind, code in STATUS if isinstance(exc, kind))


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
