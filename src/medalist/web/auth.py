"""Who is asking: a browser's session cookie, a program's `Authorization: Bearer TOKEN`, or,
with no users at all, the local admin. Forms carry the session's CSRF token (check_csrf)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from medalist.access import Session
from medalist.web.context import Dash, Dashboard
from medalist.web.redaction import USER

COOKIE = "medalist_session"
bearer = HTTPBearer(auto_error=False, description="A token from `medalist users add`.")


class NeedsLogin(Exception):
    """A page asked for without a session: the app redirects to /login."""


def session(
    request: Request,
    dash: Dash,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Session:
    found = _session(request, dash)
    setattr(request.state, USER, found.user)  # whom the response is redacted for
    return found


def _session(request: Request, dash: Dashboard) -> Session:
    users = dash.users
    if users.single_user():
        return Session(users.local_admin(), dash.local_csrf)
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
                401, "log in: send Authorization: Bearer TOKEN", {"WWW-Authenticate": "Bearer"}
            )
        raise NeedsLogin()
    return found


Auth = Annotated[Session, Depends(session)]


def check_csrf(s: Session, given: str) -> None:
    if s.csrf and not secrets.compare_digest(s.csrf, given):
        raise HTTPException(403, "the form is stale or forged (CSRF check failed): reload")
