"""An HTTP proxy in front of the local AWS endpoint that answers some requests with the errors
AWS sends under load (503 SlowDown, 500 InternalError) before passing the rest through: the
way to show that throttling and 5xx are retried, without a mock inside boto3."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SLOW_DOWN = (
    503,
    b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
    b"<Message>Please reduce your request rate.</Message></Error>",
)


class FaultyEndpoint:
    """`failing`: how many of the next requests (for a method, or any) get `fault`."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.failing: dict[str, int] = {}
        self.fault = SLOW_DOWN
        self.seen: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # answers `Expect: 100-continue` (s3fs uploads)

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail_next(self, count: int, method: str = "*") -> None:
        with self._lock:
            self.failing[method] = count

    def _should_fail(self, method: str) -> bool:
        with self._lock:
            for key in (method, "*"):
                if self.failing.get(key, 0) > 0:
                    self.failing[key] -= 1
                    return True
        return False

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = _body(handler)
        self.seen.append(f"{handler.command} {handler.path}")
        if self._should_fail(handler.command):
            status, payload = self.fault
            handler.send_response(status)
            handler.send_header("Content-Type", "application/xml")
            handler.send_header(
                "Content-Length", str(0 if handler.command == "HEAD" else len(payload))
            )
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            dropped = ("connection", "transfer-encoding", "expect", "content-length")
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in dropped}
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            handler.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    handler.send_header(key, value)
            # A HEAD's Content-Length is the object's size, not that of the (empty) body.
            size = answer.getheader("Content-Length") if handler.command == "HEAD" else None
            handler.send_header("Content-Length", size or str(len(data)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(data)
        finally:
            upstream.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request's body, sent with a length or in chunks."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""
