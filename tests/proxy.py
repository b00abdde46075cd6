"""A TCP proxy in front of PostgreSQL that tests can take down or cut mid-stream: the way to
show what a load does when the database goes away, without stopping the real server."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit, urlunsplit


class PgProxy:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        netloc = f"{parts.username}@127.0.0.1:{port}" if parts.username else f"127.0.0.1:{port}"
        self.url = urlunsplit(parts._replace(netloc=netloc))
        self.refusing = False
        self.connections = 0
        self._cut_after: int | None = None
        self._sent = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def down(self) -> None:
        """Drop every connection and refuse new ones (the server is unreachable)."""
        self.refusing = True
        self._drop_all()

    def up(self) -> None:
        self.refusing = False

    def cut_after(self, nbytes: int) -> None:
        """Drop every connection once `nbytes` more client bytes have gone through (once)."""
        with self._lock:
            self._sent, self._cut_after = 0, nbytes

    def close(self) -> None:
        self.down()
        self._listener.close()

    def _drop_all(self) -> None:
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            server = socket.create_connection(self._target)
            with self._lock:
                self._open += [client, server]
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                if upstream and self._counts(len(data)):
                    self._drop_all()
                    return
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _counts(self, n: int) -> bool:
        """Count client bytes; True when the armed cut is due (and disarm it)."""
        with self._lock:
            if self._cut_after is None:
                return False
            self._sent += n
            if self._sent < self._cut_after:
                return False
            self._cut_after = None
            return True
