"""Where the dashboard's messages leave the server: every response body (API JSON, pages,
error pages, CSV downloads) passes through medalist.redact for the user who asked.

The route's auth dependency puts the user in the request's state (`USER`); a response sent
without one (the login page, a 401, static files) never read the run log, so it passes as is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medalist.access import User
from medalist.redact import Redactor

USER = "medalist_user"


class Redacting:
    """ASGI middleware: buffers a response whose user must not see everything, redacts it,
    and fixes its Content-Length; other responses stream through untouched."""

    def __init__(self, app: ASGIApp, redactor_for: Callable[[User], Redactor | None]) -> None:
        self.app = app
        self.redactor_for = redactor_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        redactor: Redactor | None = None
        start: Message | None = None
        chunks: list[bytes] = []

        async def relay(message: Message) -> None:
            nonlocal redactor, start
            if message["type"] == "http.response.start":
                user = state.get(USER)
                if user is not None:  # it reads the run log: not on the event loop's thread
                    redactor = await anyio.to_thread.run_sync(self.redactor_for, user)
                if redactor is None:
                    await send(message)
                else:
                    start = message
                return
            if redactor is None or start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = redactor.body(b"".join(chunks))
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            if body or scope["method"] != "HEAD":
                headers.append((b"content-length", str(len(body)).encode()))
            else:  # a HEAD response keeps the length its GET would have had
                headers = start["headers"]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, relay)
