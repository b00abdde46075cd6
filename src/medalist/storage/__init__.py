"""The Storage port: the lake's zones (S3 buckets in the AWS design, folders locally).

Writers never write in place: they write to `staging_url(...)` and `publish(...)` moves the
object into the zone atomically, so readers see all of an output or none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Zone = Literal["landing", "silver", "gold", "quarantine", "_medalist"]
ZONES: tuple[Zone, ...] = ("landing", "silver", "gold", "quarantine", "_medalist")


@dataclass(frozen=True)
class StoredFile:
    """A file in a zone: its path inside the zone (posix), size and modification time."""

    zone: Zone
    path: str
    size: int
    mtime: float
    etag: str | None = None  # what an object store's listing says of the content (S3's ETag)


class Storage(Protocol):
    def find(self, zone: Zone, pattern: str) -> list[StoredFile]:
        """Files in a zone matching a glob (relative to the zone), sorted by path."""

    def url(self, zone: Zone, path: str) -> str:
        """Where the engine reads zone/path (a local path, s3://…, or a glob of either)."""

    def staging_url(self, zone: Zone, path: str, token: str) -> str:
        """A private location to write zone/path before publishing it; token keeps writers apart."""

    def publish(self, zone: Zone, path: str, token: str) -> None:
        """Atomically move the staged object into zone/path, replacing what was there."""

    def stat(self, zone: Zone, path: str) -> StoredFile | None:
        """zone/path's size and mtime, or None if it does not exist."""

    def head(self, zone: Zone, path: str, nbytes: int) -> bytes:
        """The first `nbytes` bytes of zone/path (fewer if it is shorter)."""

    def unstage(self, zone: Zone, path: str, token: str) -> None:
        """Drop a staged object that will not be published (e.g. an empty quarantine file)."""

    def checksum(self, zone: Zone, path: str) -> str:
        """Content hash of zone/path (identifies a landed file across renames and rewrites)."""

    def remove(self, zone: Zone, path: str) -> None:
        """Delete zone/path if it exists."""

    def discard_staged(self, zone: Zone, keep: set[str]) -> list[str]:
        """Delete staged objects of the zone whose token is not in `keep` (left by writers that
        died or failed); return the paths they were staged for."""


@runtime_checkable
class PublishesMany(Protocol):
    """A storage that publishes many staged objects faster together than one by one."""

    def publish_many(self, zone: Zone, staged: Sequence[tuple[str, str]]) -> None:
        """`publish` every (path, token) of `staged`."""


def publish_all(storage: Storage, zone: Zone, staged: Sequence[tuple[str, str]]) -> None:
    """Publish every (path, token) of `staged` (a batch's files): together when the storage
    can, else one by one."""
    if isinstance(storage, PublishesMany):
        storage.publish_many(zone, staged)
        return
    for path, token in staged:
        storage.publish(zone, path, token)
