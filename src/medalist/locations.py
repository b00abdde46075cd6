"""Where things live, as written in pipeline.yaml: s3://bucket/prefix for zones on S3,
dynamodb://TABLE for the run log, glue://DATABASE for the catalog.

Parsing only: each function returns the parts or raises ValueError with the fix, which the
configuration turns into an error naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# S3's rules for new buckets: 3-63 characters, lower case, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")  # DynamoDB table names
_DATABASE = re.compile(r"^[a-z0-9_]{1,255}$")  # Glue databases Athena can name unquoted


@dataclass(frozen=True)
class S3Location:
    """An S3 prefix: a bucket and a key prefix without slashes at either end ("" for the root)."""

    bucket: str
    prefix: str = ""

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def key(self, path: str) -> str:
        """The object key of `path` under this prefix."""
        return f"{self.prefix}/{path}" if self.prefix else path

    def child(self, name: str) -> S3Location:
        return S3Location(self.bucket, self.key(name))

    def contains(self, other: S3Location) -> bool:
        """Whether `other` lies under this prefix (or is it)."""
        if other.bucket != self.bucket:
            return False
        return (
            not self.prefix
            or other.prefix == self.prefix
            or (other.prefix.startswith(self.prefix + "/"))
        )


def is_s3(url: str) -> bool:
    return url.startswith("s3://")


def parse_s3(url: str) -> S3Location:
    """s3://bucket/some/prefix -> S3Location("bucket", "some/prefix")."""
    if not is_s3(url):
        raise ValueError(f"{url!r} is not an s3://bucket/prefix URL")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not _BUCKET.match(bucket):
        raise ValueError(
            f"{bucket!r} in {url!r} is not a valid bucket name (3-63 lower-case letters, "
            "digits, dots or hyphens)"
        )
    prefix = prefix.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise ValueError(f"{url!r} has an empty, '.' or '..' path segment")
    return S3Location(bucket, prefix)


def _named(url: str, scheme: str, pattern: re.Pattern[str], what: str, example: str) -> str:
    if not url.startswith(f"{scheme}://"):
        found = url.split("://", 1)[0] + "://" if "://" in url else repr(url)
        raise ValueError(f"{found} is not supported here; write {scheme}://{example}")
    name = url.removeprefix(f"{scheme}://").rstrip("/")
    if not pattern.match(name):
        raise ValueError(f"{name!r} is not a valid {what} name (e.g. {scheme}://{example})")
    return name


def parse_dynamodb(url: str) -> str:
    """dynamodb://medalist-runs -> the table name."""
    return _named(url, "dynamodb", _TABLE, "DynamoDB table", "medalist-runs")


def parse_glue(url: str) -> str:
    """glue://shop -> the Glue database name."""
    return _named(url, "glue", _DATABASE, "Glue database (lower case, digits, _)", "shop")
