"""Real receivers for alerts in tests: an HTTP server that can refuse requests for a while, and
an SMTP server (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


class HttpSink:
    """Records each POST; answers 503 to the first `fail_first` ones, or while `down`."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first, self.down = fail_first, False
        self.attempts = 0
        self.received: list[tuple[dict[str, str], Any]] = []  # accepted (headers, json body)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    sink.attempts += 1
                    refuse = sink.down or sink.attempts <= sink.fail_first
                    if not refuse:
                        sink.received.append((dict(self.headers), json.loads(body)))
                self.send_response(503 if refuse else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A real SMTP server on a free port; `messages` holds what it accepted."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        with socket.socket() as probe:  # aiosmtpd needs a fixed port: borrow a free one
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{port}"

    def close(self) -> None:
        self.controller.stop()
