"""Log in with a token (a session cookie, HttpOnly, SameSite=Strict) and log out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medalist.web.auth import COOKIE, Auth, check_csrf
from medalist.web.context import Dash
from medalist.web.render import templates

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str | None = None) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"error": error})


@router.post("/login")
def login(dash: Dash, token: Annotated[str, Form()]) -> Response:
    user = dash.users.by_token(token.strip())
    if user is None:
        return RedirectResponse("/login?error=unknown+token", status_code=303)
    sid, _ = dash.users.open_session(user)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/")
    return response


@router.post("/logout")
def logout(request: Request, dash: Dash, s: Auth, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(s, csrf)
    dash.users.close_session(request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
