"""Byte streams into a staged object of the Storage port: `staging_url` gives where to write,
`publish` makes it visible. The controller never sees a half-written file.

A Storage adapter that can stream better itself (S3 multipart uploads with its own client and
endpoint) offers `open_staged`, an optional ability like the port's other `Supports*`; any other
adapter is written through its staging URL: a local path, or an fsspec URL (s3://… through the
S3 adapter's own endpoint and region, as the engine reads it).
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import cache
from typing import IO, Any, Protocol, cast, runtime_checkable

from medalist.storage import Storage, Zone


@runtime_checkable
class SupportsStagedWrites(Protocol):
    def open_staged(self, zone: Zone, path: str, token: str) -> IO[bytes]:
        """A writable binary stream to the staged object of zone/path (publish it after)."""


@cache
def _s3_filesystem(target: Hashable) -> Any:
    """One s3fs filesystem per endpoint (its client costs ~1 s to make: not one per file)."""
    from medalist.storage.s3 import s3_filesystem

    return s3_filesystem(target)  # type: ignore[arg-type]


def open_staged(storage: Storage, zone: Zone, path: str, token: str) -> IO[bytes]:
    """Where a writer streams zone/path before `storage.publish(zone, path, token)`."""
    if isinstance(storage, SupportsStagedWrites):
        return storage.open_staged(zone, path, token)
    url = storage.staging_url(zone, path, token)
    if "://" not in url:
        return open(url, "wb")
    target = getattr(storage, "target", None)  # the S3 adapter's endpoint, region, credentials
    if url.startswith("s3://") and target is not None:
        # s3fs sends a multipart upload, a part per block: bounded memory at any size.
        return cast(IO[bytes], _s3_filesystem(target).open(url, "wb"))
    import fsspec  # comes with s3fs, the [aws] extra; only needed for a remote lake

    return cast(IO[bytes], fsspec.open(url, "wb").open())
