"""Byte streams into a staged object of the Storage port: `staging_url` gives where to write,
`publish` makes it visible. The controller never sees a half-written file."""

from __future__ import annotations

from typing import IO, cast


def open_staged(url: str) -> IO[bytes]:
    """A writable binary stream for a staging URL: a local path, or any fsspec URL (s3://…)."""
    if "://" not in url:
        return open(url, "wb")
    import fsspec  # comes with s3fs, the [aws] extra; only needed for a remote lake

    return cast(IO[bytes], fsspec.open(url, "wb").open())
