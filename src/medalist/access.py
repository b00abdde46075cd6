"""Who may see what: users with hashed tokens, sessions for the browser, and the role each one
has (IAM in the AWS design). With no users at all, medalist runs in single-user mode: everyone
on 127.0.0.1 is admin, and binding the dashboard to another address is refused."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from medalist.config import Pipeline, RoleSpec
from medalist.errors import ConfigError, NotFound, Refused
from medalist.metastore import connect, iso, metastore_path, now

SESSION_LIFETIME = timedelta(hours=12)
SINGLE_USER = "local"


@dataclass(frozen=True)
class User:
    name: str
    role_name: str
    role: RoleSpec

    def sees(self, zone: str) -> bool:
        return zone in self.role.zone_set

    def require(self, zone: str) -> None:
        if not self.sees(zone):
            raise Refused(
                f"role {self.role_name} may not see the {zone} zone",
                fix="Ask an admin for a role that includes it (access.roles in pipeline.yaml).",
            )

    def may_upload(self, dataset: str) -> bool:
        return self.role.may_upload(dataset)

    def require_upload(self, dataset: str) -> None:
        """Refused unless the role may write landing/<dataset>/ (its `upload:` list)."""
        if not self.may_upload(dataset):
            raise Refused(
                f"role {self.role_name} may not upload to dataset {dataset}",
                fix="Ask an admin for a role whose upload: lists it (access.roles in "
                "pipeline.yaml).",
            )


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Users:
    """Users and sessions in the metastore. Tokens and session ids are stored hashed only.

    For a lake on S3 they are this machine's, in the state folder's metastore (decision 0037):
    nothing of them is in the lake."""

    def __init__(self, pipeline: Pipeline, lake: Path | None = None) -> None:
        self.pipeline = pipeline
        self.con = connect(
            metastore_path(lake) if lake else pipeline.state_dir / "metastore.sqlite"
        )
        self._mutex = threading.Lock()  # the dashboard calls from several request threads

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> tuple[list[sqlite3.Row], int]:
        """(rows, rowcount) of one statement, one caller at a time."""
        with self._mutex:
            cursor = self.con.execute(sql, args)
            return cursor.fetchall(), cursor.rowcount

    def _role(self, name: str) -> RoleSpec:
        roles = self.pipeline.access.roles
        if name not in roles:
            raise ConfigError(
                f"no role {name!r}", fix=f"Roles in pipeline.yaml: {', '.join(roles)}."
            )
        return roles[name]

    def single_user(self) -> bool:
        return self._run("SELECT count(*) FROM users")[0][0][0] == 0

    def local_admin(self) -> User:
        roles = self.pipeline.access.roles
        name = "admin" if "admin" in roles else next(iter(roles))
        return User(SINGLE_USER, name, roles[name])

    def add(self, name: str, role: str) -> str:
        """Create a user; return its token (shown once, never stored)."""
        self._role(role)
        token = "mdl_" + secrets.token_urlsafe(32)
        try:
            self._run(
                "INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, role, _hash(token), iso(now())),
            )
        except sqlite3.IntegrityError:
            raise Refused(
                f"user {name!r} exists", fix="Remove it first, or pick another name."
            ) from None
        return token

    def remove(self, name: str) -> None:
        if self._run("DELETE FROM users WHERE name = ?", (name,))[1] != 1:
            raise NotFound(f"no user {name!r}", fix="See `medalist users list`.")
        self._run("DELETE FROM sessions WHERE user = ?", (name,))

    def all(self) -> list[tuple[str, str, str]]:
        rows, _ = self._run("SELECT name, role, created_at FROM users ORDER BY name")
        return [(r["name"], r["role"], r["created_at"]) for r in rows]

    def by_token(self, token: str) -> User | None:
        rows, _ = self._run("SELECT name, role FROM users WHERE token_hash = ?", (_hash(token),))
        row = rows[0] if rows else None
        if row is None or row["role"] not in self.pipeline.access.roles:
            return None
        return User(row["name"], row["role"], self._role(row["role"]))

    def open_session(self, user: User) -> tuple[str, Session]:
        """A new browser session: (cookie value, session)."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        self._run(
            "INSERT INTO sessions (id_hash, user, csrf, expires_at) VALUES (?, ?, ?, ?)",
            (_hash(sid), user.name, csrf, iso(now() + SESSION_LIFETIME)),
        )
        return sid, Session(user, csrf)

    def session(self, sid: str) -> Session | None:
        rows, _ = self._run(
            "SELECT s.csrf, s.expires_at, u.name, u.role FROM sessions s JOIN users u "
            "ON u.name = s.user WHERE s.id_hash = ?",
            (_hash(sid),),
        )
        row = rows[0] if rows else None
        if row is None or datetime.fromisoformat(row["expires_at"]) < now():
            return None
        if row["role"] not in self.pipeline.access.roles:
            return None
        return Session(User(row["name"], row["role"], self._role(row["role"])), row["csrf"])

    def close_session(self, sid: str) -> None:
        self._run("DELETE FROM sessions WHERE id_hash = ?", (_hash(sid),))

    def remember_query(
        self, user: str, sql: str, rows: int | None, seconds: float, error: str | None
    ) -> None:
        self._run(
            "INSERT INTO queries (user, sql, at, rows, seconds, error) VALUES (?, ?, ?, ?, ?, ?)",
            (user, sql, iso(now()), rows, round(seconds, 3), error),
        )

    def history(self, user: str, limit: int = 20) -> list[dict[str, object]]:
        rows, _ = self._run(
            "SELECT sql, at, rows, seconds, error FROM queries WHERE user = ? "
            "ORDER BY id DESC LIMIT ?",
            (user, limit),
        )
        return [dict(r) for r in rows]
