"""The dashboard: pages for people, `/api/...` for programs (OpenAPI at /openapi.json), both
checked against the caller's role on every request.

Auth (web.auth): a browser logs in with its token and gets a session cookie (HttpOnly,
SameSite=Strict); every form carries the session's CSRF token. Programs send
`Authorization: Bearer TOKEN`. With no users at all, everyone is the local admin (the CLI
refuses to bind beyond 127.0.0.1 then).

Each page is a router in web.pages, the API one in web.api; they share the Dashboard
(web.context), the session (web.auth), the run log's reads (web.run_access) and the rendering
(web.render). Another router joins with one `app.include_router` line below.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from medalist.access import Users
from medalist.config import Pipeline
from medalist.redact import lake_secret, redactor_for
from medalist.web import api, refusals
from medalist.web.auth import COOKIE, NeedsLogin
from medalist.web.context import Dashboard
from medalist.web.pages import datasets, login, overview, query, run, runs
from medalist.web.redaction import Redacting
from medalist.web.refusals import STATUS, status_of
from medalist.web.upload import router as upload_router
from medalist.wiring import open_ports
from medalist.workflow.context import Ports

__all__ = ["COOKIE", "STATUS", "NeedsLogin", "create_app", "status_of"]

HERE = Path(__file__).parent


def create_app(pipeline: Pipeline, ports: Ports | None = None) -> FastAPI:
    app = FastAPI(
        title=f"medalist: {pipeline.name}",
        docs_url=None,  # Swagger UI loads from a CDN: the OpenAPI JSON is enough
        redoc_url=None,
        openapi_url=None,  # served by web.api, to logged-in users only when users exist
    )
    the_ports = ports or open_ports(pipeline)
    app.state.dashboard = Dashboard(
        pipeline, the_ports, Users(pipeline), local_csrf=secrets.token_urlsafe(24)
    )
    lake = lake_secret(pipeline)
    app.add_middleware(Redacting, redactor_for=lambda user: redactor_for(user, the_ports, lake))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    refusals.install(app)
    app.include_router(api.router)
    app.include_router(upload_router(pipeline, the_ports, app.state.dashboard.users))
    for pages in (login, overview, runs, run, datasets, query):
        app.include_router(pages.router)
    return app
