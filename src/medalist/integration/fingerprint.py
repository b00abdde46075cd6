"""Whether a file on this side is the content the lake already holds, in the lake's own terms.

The Storage port names a file's content by `checksum()`: a SHA-256 of the bytes on a local
lake, and on S3 what HeadObject tells without reading the object (decision 0016): its MD5
(a single-part object's ETag), a whole-object CRC32 or SHA-256, or only a multipart ETag. A
sender hashes its bytes once, all three ways, and compares with whichever the lake gives.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Fingerprint:
    size: int
    sha256: str  # hex, as `sha256sum` prints and the local run log registers
    md5: str | None = None  # hex
    crc32: int | None = None

    def matches(self, identity: str) -> bool:
        """Whether `identity` (a Storage checksum or a run's file_hash) names this content.
        A multipart ETag (or a checksum we do not compute) never matches: sent again."""
        if identity == self.sha256:
            return True
        kind, _, rest = identity.partition(":")
        value, _, size = rest.rpartition(":")
        if not size.isdigit() or int(size) != self.size:
            return False
        if kind == "md5":
            return self.md5 is not None and value == self.md5
        if kind == "sha256":
            return value == base64.b64encode(bytes.fromhex(self.sha256)).decode()
        if kind == "crc32" and self.crc32 is not None:
            return value == base64.b64encode(self.crc32.to_bytes(4, "big")).decode()
        return False


class Hasher:
    """A Fingerprint built chunk by chunk."""

    def __init__(self) -> None:
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._crc32 = 0

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self._crc32 = zlib.crc32(chunk, self._crc32)

    def result(self) -> Fingerprint:
        return Fingerprint(self.size, self._sha256.hexdigest(), self._md5.hexdigest(), self._crc32)
