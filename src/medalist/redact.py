"""The one redaction of what a role may not see in a message: landing's file names and the
lake's absolute path, for a role without the landing zone.

It works on text, not on fields: file names reach messages from many places (a retry's fix,
"landing/<file> is no longer in landing", a quarantined row's _source_file, an engine error),
and hiding them at each call site missed some. So the dashboard applies it to every response
body it sends (web/app.py), and anything else that sends a message to a role can apply it the
same way with `Redactor.text`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote

from markupsafe import escape

from medalist.access import User
from medalist.config import Pipeline
from medalist.locations import is_s3
from medalist.workflow.context import Ports

HIDDEN = "(hidden: landing zone)"
LAKE = "<lake>"


class Redactor:
    """Replaces each secret (and its landing/ form) as it appears in plain text, HTML, JSON
    and URLs; the longest first, so `landing/orders/a.csv` goes whole, not as `landing/…`."""

    def __init__(self, files: Iterable[str], lake: str | None = None) -> None:
        secrets: dict[str, str] = {}
        for name in {f for f in files if f}:
            secrets[f"landing/{name}"] = HIDDEN
            secrets[name] = HIDDEN
        if lake:
            secrets[lake.rstrip("/")] = LAKE
        spelled: dict[str, str] = {}
        for secret, mark in secrets.items():
            for form in _forms(secret):
                spelled.setdefault(form, mark)
        self._marks = spelled
        self._text = _pattern(spelled)
        self._bytes = (
            re.compile(b"|".join(re.escape(s.encode()) for s in _longest_first(spelled)))
            if spelled
            else None
        )

    def text(self, value: str) -> str:
        if self._text is None:
            return value
        return self._text.sub(lambda m: self._marks[m.group(0)], value)

    def body(self, value: bytes) -> bytes:
        """A response body, whatever its type (JSON, HTML, CSV): UTF-8 bytes in and out."""
        if self._bytes is None:
            return value
        return self._bytes.sub(lambda m: self._marks[m.group(0).decode()].encode(), value)


def _forms(secret: str) -> set[str]:
    """How `secret` is spelled once rendered: as is, HTML-escaped, inside a JSON string
    (escaped, or ASCII-only), URL-quoted."""
    return {
        secret,
        str(escape(secret)),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1],
        quote(secret),
    }


def _longest_first(spelled: dict[str, str]) -> list[str]:
    return sorted(spelled, key=len, reverse=True)


def _pattern(spelled: dict[str, str]) -> re.Pattern[str] | None:
    if not spelled:
        return None
    return re.compile("|".join(re.escape(s) for s in _longest_first(spelled)))


def redactor_for(user: User, ports: Ports, lake: str) -> Redactor | None:
    """What `user` must not see, or None when its role sees landing (and so everything a
    message can name)."""
    if user.sees("landing"):
        return None
    files = {run.file for run in ports.runlog.list(limit=None)}
    return Redactor(files, lake)


def lake_secret(pipeline: Pipeline) -> str:
    """What names the lake in a message: its folder's absolute path, its s3:// prefix, or (a
    bucket per zone) the landing zone's, whose objects a role without landing must not find."""
    if not pipeline.lake_on_s3:
        return str(pipeline.lake_path.resolve())
    return pipeline.lake if is_s3(pipeline.lake) else pipeline.zone_url("landing")
