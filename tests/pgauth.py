"""A listener that answers PostgreSQL's start-up the way a password-checking server answers a
wrong password: it asks for the password, then says FATAL 28P01.

Emulator gap: the test PostgreSQL trusts every connection from 127.0.0.1 (pg_hba `trust`), so
no password can be wrong there, and its pg_hba.conf is shared by every test run on the machine.
Everything else about connecting (unknown role, missing database, privileges) is tested
against the real server. Run as a script (`python tests/pgauth.py PORT`) for walk-throughs.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading

_SSL_REQUEST, _GSS_REQUEST = 80877103, 80877104


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


def _error(user: str) -> bytes:
    fields = [
        (b"S", b"FATAL"),
        (b"V", b"FATAL"),
        (b"C", b"28P01"),
        (b"M", f'password authentication failed for user "{user}"'.encode()),
    ]
    body = b"".join(code + text + b"\0" for code, text in fields) + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


def _answer(conn: socket.socket) -> None:
    with conn:
        while True:
            (length,) = struct.unpack("!i", _read(conn, 4))
            packet = _read(conn, length - 4)
            (code,) = struct.unpack("!i", packet[:4])
            if code not in (_SSL_REQUEST, _GSS_REQUEST):
                break
            conn.sendall(b"N")  # no TLS, no GSS: go on in the clear
        words = packet[4:].split(b"\0")
        params = dict(zip(words[::2], words[1::2], strict=False))
        user = params.get(b"user", b"").decode()
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        kind = _read(conn, 1)
        (length,) = struct.unpack("!i", _read(conn, 4))
        _read(conn, length - 4)
        if kind == b"p":
            conn.sendall(_error(user))


class WrongPasswordServer:
    """Listens on 127.0.0.1; every login fails with PostgreSQL's wrong-password error."""

    def __init__(self, port: int = 0) -> None:
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = self._listener.getsockname()[1]
        self.logins = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.logins += 1
            threading.Thread(target=self._safe, args=(conn,), daemon=True).start()

    @staticmethod
    def _safe(conn: socket.socket) -> None:
        with contextlib.suppress(ConnectionError, OSError, struct.error):
            _answer(conn)

    def close(self) -> None:
        self._listener.close()


if __name__ == "__main__":
    server = WrongPasswordServer(int(sys.argv[1]))
    threading.Event().wait()
