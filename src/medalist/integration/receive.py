"""A file sent over the network into landing/<dataset>/ (the dashboard's upload API): checked
before a byte is read (the role, the dataset, the name, the announced size and checksum, a name
already taken), then streamed into a staged object with a size limit and published only when
its SHA-256 matches the one the client announced. A refusal leaves nothing in landing.

The HTTP layer (web/upload.py) maps each refusal to its status code; this module knows no HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import IO
from uuid import uuid4

from medalist.access import User
from medalist.config import Pipeline
from medalist.errors import MedalistError
from medalist.integration.fingerprint import Fingerprint, Hasher
from medalist.integration.land import Outcome, already_landed, would_read
from medalist.integration.sink import open_staged
from medalist.workflow.context import Ports

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# A plain file name: no folder, not hidden, no control characters, at most 255 bytes.
NAME = re.compile(r"^[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]{0,254}$")


class Why(StrEnum):
    """Why an upload is refused (web/upload.py gives each its status code)."""

    NOT_ALLOWED = "not allowed"  # the role may not write this dataset's landing
    UNKNOWN_DATASET = "unknown dataset"
    BAD_NAME = "bad name"
    BAD_CHECKSUM = "bad checksum header"
    TOO_BIG = "too big"
    EMPTY = "empty"
    CHECKSUM_MISMATCH = "checksum mismatch"
    TAKEN = "already landed"  # another file holds the name


class UploadRefused(MedalistError):
    """A refused upload: the reason, the fix, and which kind of refusal (`why`)."""

    def __init__(self, why: Why, message: str, fix: str) -> None:
        super().__init__(message, fix=fix)
        self.why = why


@dataclass(frozen=True)
class Received:
    path: str  # inside the landing zone
    outcome: Outcome  # LANDED, or SKIPPED when the same content is there already
    size: int
    sha256: str
    reason: str = ""


def admit(
    pipeline: Pipeline,
    ports: Ports,
    user: User,
    dataset: str,
    name: str,
    sha256: str | None,
    length: int | None,
) -> Received | None:
    """Every check that needs no body. A Received (SKIPPED) when the content the client
    announces is in landing already, None when the body should be received."""
    if not user.may_upload(dataset):
        raise UploadRefused(
            Why.NOT_ALLOWED,
            f"role {user.role_name} may not upload to dataset {dataset}",
            "Use a token whose role lists the dataset under upload: (access.roles in "
            "pipeline.yaml).",
        )
    if dataset not in pipeline.datasets:
        raise UploadRefused(
            Why.UNKNOWN_DATASET,
            f"no dataset {dataset!r}",
            f"Datasets: {', '.join(pipeline.datasets)}.",
        )
    target = f"{dataset}/{name}"
    if not NAME.match(name) or len(name.encode()) > 255:
        raise UploadRefused(
            Why.BAD_NAME,
            f"{name!r} is not a plain file name",
            "Send a name of at most 255 bytes without '/', '\\' or control characters, "
            "not starting with '.', e.g. 2026-11-24.csv.",
        )
    source = pipeline.datasets[dataset].source
    if not would_read(source, target):
        raise UploadRefused(
            Why.BAD_NAME,
            f"landing/{target} would not be read: dataset {dataset} takes {source!r}",
            "Rename the file, or change the dataset's source in pipeline.yaml.",
        )
    if sha256 is None or not SHA256_HEX.match(sha256.strip().lower()):
        raise UploadRefused(
            Why.BAD_CHECKSUM,
            "the X-Checksum-Sha256 header is missing or not 64 hex digits",
            "Send the file's SHA-256 in hex: X-Checksum-Sha256: $(sha256sum FILE | cut -c1-64).",
        )
    limit = pipeline.access.max_upload_bytes
    if length is not None and length > limit:
        raise _too_big(length, limit)
    digest = sha256.strip().lower()
    seen = already_landed(ports, dataset, target, Fingerprint(length or 0, digest))
    if seen:  # known by its SHA-256 (a local lake): no need to receive it
        return Received(target, Outcome.SKIPPED, length or 0, digest, seen)
    there = ports.storage.stat("landing", target)
    if there is not None and SHA256_HEX.match(ports.storage.checksum("landing", target)):
        raise _taken(target)  # comparable now; on S3 only once the body is here
    return None


def _taken(target: str) -> UploadRefused:
    return UploadRefused(
        Why.TAKEN,
        f"landing/{target} already holds another file (different content)",
        "Files in landing are never replaced: send it under a new name.",
    )


def _too_big(size: int, limit: int, *, whole: bool = True) -> UploadRefused:
    """`whole`: `size` is the file's (Content-Length); else only what was read before it ran
    past the limit (a chunked body), which is not the file's size."""
    said = f"{size:,} bytes" if whole else f"reading stopped after {size:,} bytes"
    return UploadRefused(
        Why.TOO_BIG,
        f"the file is larger than the upload limit of {limit:,} bytes ({said})",
        "Split it, or raise access.max_upload_bytes in pipeline.yaml.",
    )


class Receiving:
    """The body on its way into a staged object: write() each chunk, then publish() or
    abort(). Nothing is visible in landing before publish()."""

    def __init__(self, pipeline: Pipeline, ports: Ports, target: str, sha256: str) -> None:
        self.ports = ports
        self.storage = ports.storage
        self.target = target
        self.expected = sha256.strip().lower()
        self.limit = pipeline.access.max_upload_bytes
        self.token = uuid4().hex
        self.hasher = Hasher()
        self.size = 0
        self.out: IO[bytes] | None = open_staged(self.storage, "landing", target, self.token)

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise _too_big(self.size, self.limit, whole=False)
        self.hasher.update(chunk)
        assert self.out is not None
        self.out.write(chunk)

    def publish(self) -> Received:
        assert self.out is not None
        self.out.close()
        self.out = None
        if self.size == 0:
            raise UploadRefused(
                Why.EMPTY, "the body is empty (0 bytes)", "Send the file's content as the body."
            )
        content = self.hasher.result()
        got = content.sha256
        if got != self.expected:
            raise UploadRefused(
                Why.CHECKSUM_MISMATCH,
                f"the body's SHA-256 is {got}, X-Checksum-Sha256 said {self.expected}: "
                f"it was cut or changed on the way ({self.size:,} bytes received)",
                "Nothing landed; send it again.",
            )
        dataset = self.target.split("/")[0]
        seen = already_landed(self.ports, dataset, self.target, content)  # in the lake's terms
        if seen:
            self.abort()
            return Received(self.target, Outcome.SKIPPED, self.size, got, seen)
        if self.storage.stat("landing", self.target) is not None:
            raise _taken(self.target)
        self.storage.publish("landing", self.target, self.token)
        return Received(self.target, Outcome.LANDED, self.size, got)

    def abort(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        self.storage.unstage("landing", self.target, self.token)
