"""Zones on S3: one prefix per zone, under one lake prefix or in a bucket per zone.

S3 has no rename. A writer stages its object under `<zone root>/.staging/<token>/<path>` (a
prefix no dataset, model or Glue table location can name: those are lower_snake_case) and
publishing copies it server-side onto its key, then deletes the staged object. A copy onto a
key is atomic for readers (they get the old object or the new one), and what they may read at
all is decided by the run log (decision 0004). What identifies "the same file" without reading
it is decision 0016.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from medalist.aws import AwsTarget, aws_error
from medalist.errors import ConfigError
from medalist.locations import S3Location, parse_s3
from medalist.storage import StoredFile, Zone

STAGING = ".staging"
COPY_PART_BYTES = 256 * 2**20  # above this an object is copied in parts (5 GB is S3's limit)
S3FS_BLOCK_BYTES = 8 * 2**20  # the engine's read-ahead and upload part size (s3fs: 50 MB)
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys
# Checksums S3 keeps for the whole object, most widely produced first (decision 0016).
_FULL_CHECKSUMS = ("CRC64NVME", "CRC32", "CRC32C", "SHA256", "SHA1")


class S3Storage:
    """Zones as S3 prefixes. `roots`: zone -> s3://bucket/prefix (zones left out cannot be used).

    Opening checks, with one HeadBucket each, that every bucket exists and can be reached, so a
    wrong name, region or credential is a ConfigError before any run starts."""

    def __init__(
        self,
        roots: Mapping[Zone, str],
        target: AwsTarget,
        copy_part_bytes: int = COPY_PART_BYTES,
        list_page: int = 1000,
    ) -> None:
        self.roots = {zone: parse_s3(url) for zone, url in roots.items()}
        self.target = target
        self.s3 = target.client("s3")
        self.copy_part_bytes = copy_part_bytes
        self.list_page = list_page  # keys per ListObjectsV2 page (1,000 is S3's most)
        for bucket in sorted({root.bucket for root in self.roots.values()}):
            self._check_bucket(bucket)

    # --- where things are -------------------------------------------------------------------

    def _root(self, zone: Zone) -> S3Location:
        try:
            return self.roots[zone]
        except KeyError:
            raise ValueError(f"the {zone} zone has no S3 location in this lake") from None

    def _key(self, zone: Zone, path: str) -> tuple[str, str]:
        """(bucket, key) of zone/path; a path that would leave the zone is refused."""
        parts = path.split("/")
        if not path or path.startswith("/") or ".." in parts or "\\" in path:
            raise ValueError(f"{path!r} escapes the {zone} zone")
        root = self._root(zone)
        return root.bucket, root.key(path)

    def _staged(self, zone: Zone, path: str, token: str) -> tuple[str, str]:
        self._key(zone, path)  # the same refusal as for a final path
        if not token or "/" in token:
            raise ValueError(f"staging token {token!r} must be one path segment")
        root = self._root(zone).child(STAGING).child(token)
        return root.bucket, root.key(path)

    def url(self, zone: Zone, path: str) -> str:
        bucket, key = self._key(zone, path)
        return f"s3://{bucket}/{key}"

    def staging_url(self, zone: Zone, path: str, token: str) -> str:
        bucket, key = self._staged(zone, path, token)
        self._call("DeleteObject", bucket, Bucket=bucket, Key=key)  # a failed attempt's leftover
        return f"s3://{bucket}/{key}"

    # --- reading ----------------------------------------------------------------------------

    def find(self, zone: Zone, pattern: str) -> list[StoredFile]:
        root = self._root(zone)
        wanted = pattern.split("/")
        literal = []
        for part in wanted[:-1]:  # list only under the pattern's fixed folders
            if any(c in part for c in "*?["):
                break
            literal.append(part)
        prefix = root.key("/".join(literal)) + "/" if literal else root.key("")
        found = []
        for item in self._list(root.bucket, prefix):
            path = item["Key"][len(root.key("")) :]
            parts = path.split("/")
            if path.endswith("/") or STAGING in parts or parts[-1].startswith("."):
                continue
            if _matches(parts, wanted):
                etag = str(item.get("ETag", "")).strip('"') or None
                found.append(StoredFile(zone, path, int(item["Size"]), _mtime(item), etag))
        return sorted(found, key=lambda f: f.path.split("/"))

    def _list(self, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": self.list_page}
        )
        try:
            for page in pages:
                yield from page.get("Contents", [])
        except Exception as exc:
            raise aws_error(exc, f"bucket {bucket}", self.target) from exc

    def stat(self, zone: Zone, path: str) -> StoredFile | None:
        found = self._head(zone, path)
        if not found:
            return None
        etag = str(found.get("ETag", "")).strip('"') or None
        return StoredFile(zone, path, int(found["ContentLength"]), _mtime(found), etag)

    def _head(self, zone: Zone, path: str, **extra: Any) -> dict[str, Any] | None:
        bucket, key = self._key(zone, path)
        return self._call("HeadObject", bucket, missing_ok=True, Bucket=bucket, Key=key, **extra)

    def head(self, zone: Zone, path: str, nbytes: int) -> bytes:
        bucket, key = self._key(zone, path)
        if nbytes <= 0:
            return b""
        got = self._call(
            "GetObject",
            bucket,
            missing_ok=True,
            empty_ok=True,
            Bucket=bucket,
            Key=key,
            Range=f"bytes=0-{nbytes - 1}",
        )
        if got is None:
            raise FileNotFoundError(f"s3://{bucket}/{key}")
        if not got:  # a range of an empty object
            return b""
        with got["Body"] as body:
            return bytes(body.read(nbytes))

    def checksum(self, zone: Zone, path: str) -> str:
        found = self._head(zone, path, ChecksumMode="ENABLED")
        if found is None:
            bucket, key = self._key(zone, path)
            raise FileNotFoundError(f"s3://{bucket}/{key}")
        return identity(found)

    # --- writing ----------------------------------------------------------------------------

    def publish(self, zone: Zone, path: str, token: str) -> None:
        bucket, staged = self._staged(zone, path, token)
        _, final = self._key(zone, path)
        found = self._call("HeadObject", bucket, missing_ok=True, Bucket=bucket, Key=staged)
        if found is None:
            raise FileNotFoundError(f"nothing staged at s3://{bucket}/{staged}")
        size = int(found["ContentLength"])
        if size <= self.copy_part_bytes:
            self._call(
                "CopyObject",
                bucket,
                Bucket=bucket,
                Key=final,
                CopySource={"Bucket": bucket, "Key": staged},
            )
        else:
            self._copy_in_parts(bucket, staged, final, size)
        self._call("DeleteObject", bucket, Bucket=bucket, Key=staged)

    def _copy_in_parts(self, bucket: str, source: str, key: str, size: int) -> None:
        """A server-side copy of a big object, part by part: one CopyObject stops at 5 GB and
        is one long request; nothing passes through this process either way."""
        upload = self._call("CreateMultipartUpload", bucket, Bucket=bucket, Key=key)["UploadId"]
        try:
            parts = []
            for number in range(1, math.ceil(size / self.copy_part_bytes) + 1):
                start = (number - 1) * self.copy_part_bytes
                end = min(size, start + self.copy_part_bytes) - 1
                done = self._call(
                    "UploadPartCopy",
                    bucket,
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload,
                    PartNumber=number,
                    CopySource={"Bucket": bucket, "Key": source},
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"PartNumber": number, "ETag": done["CopyPartResult"]["ETag"]})
            self._call(
                "CompleteMultipartUpload",
                bucket,
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._call("AbortMultipartUpload", bucket, Bucket=bucket, Key=key, UploadId=upload)
            raise

    def unstage(self, zone: Zone, path: str, token: str) -> None:
        bucket, key = self._staged(zone, path, token)
        self._call("DeleteObject", bucket, Bucket=bucket, Key=key)

    def remove(self, zone: Zone, path: str) -> None:
        bucket, key = self._key(zone, path)
        self._call("DeleteObject", bucket, Bucket=bucket, Key=key)

    def discard_staged(self, zone: Zone, keep: set[str]) -> list[str]:
        staging = self._root(zone).child(STAGING)
        doomed: list[str] = []
        discarded = []
        for item in self._list(staging.bucket, staging.key("")):
            token, _, path = item["Key"][len(staging.key("")) :].partition("/")
            if token not in keep and path:
                doomed.append(item["Key"])
                discarded.append(path)
        for start in range(0, len(doomed), _DELETE_BATCH):
            batch = [{"Key": key} for key in doomed[start : start + _DELETE_BATCH]]
            self._call(
                "DeleteObjects",
                staging.bucket,
                Bucket=staging.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )
        return discarded

    # --- talking to S3 ----------------------------------------------------------------------

    def _call(
        self,
        operation: str,
        bucket: str,
        *,
        missing_ok: bool = False,
        empty_ok: bool = False,
        **params: Any,
    ) -> Any:
        """One S3 request; its errors as medalist's (naming the bucket and the fix). With
        `missing_ok` a missing key answers None; with `empty_ok` a range past an empty object's
        end answers {}."""
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.s3, _snake(operation))
        try:
            return method(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if missing_ok and code in ("404", "NoSuchKey", "NotFound"):
                return None
            if empty_ok and code == "InvalidRange":
                return {}
            raise aws_error(exc, f"bucket {bucket}", self.target) from exc
        except BotoCoreError as exc:
            raise aws_error(exc, f"bucket {bucket}", self.target) from exc

    def _check_bucket(self, bucket: str) -> None:
        """The bucket exists, these credentials reach it, and it is in aws.region: a clear
        ConfigError at start otherwise (with two attempts, not eight: a down endpoint fails in
        about a second)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            found = self.target.client("s3", attempts=2).head_bucket(Bucket=bucket)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            actual = headers.get("x-amz-bucket-region")
            if status in (301, 400) and actual and actual != self.target.region:
                raise ConfigError(
                    f"bucket {bucket} is in region {actual}, not "
                    f"{self.target.region or '(none set)'}",
                    fix=f"Set aws.region: {actual} in pipeline.yaml.",
                ) from exc
            if status == 404:
                raise ConfigError(
                    f"bucket {bucket} does not exist "
                    f"({self.target.endpoint_url or 'AWS region ' + str(self.target.region)})",
                    fix="Create the bucket (medalist never creates buckets: their policies and "
                    "retention are yours), or correct lake:/zones: in pipeline.yaml.",
                ) from exc
            raise aws_error(exc, f"bucket {bucket}", self.target) from exc
        except BotoCoreError as exc:
            raise aws_error(exc, f"bucket {bucket}", self.target) from exc
        # Through an endpoint (or once boto3 has followed AWS's redirect) a bucket of another
        # region still answers; its reads would then cross regions, or fail in s3fs.
        actual = found.get("BucketRegion") or found.get("ResponseMetadata", {}).get(
            "HTTPHeaders", {}
        ).get("x-amz-bucket-region")
        if self.target.region and actual and actual != self.target.region:
            raise ConfigError(
                f"bucket {bucket} is in region {actual}, not {self.target.region}",
                fix=f"Set aws.region: {actual} in pipeline.yaml (or move the bucket).",
            )


def identity(head: Mapping[str, Any]) -> str:
    """What names an object's content without reading it (decision 0016), from HeadObject with
    ChecksumMode=ENABLED: the MD5 that a single-part upload's ETag is (unless KMS or a customer
    key encrypts it), else a checksum S3 keeps for the whole object, else the multipart ETag.
    Always with the size. Example: `md5:9b2cf535f27731c974343645a3985328:1024`."""
    etag = str(head.get("ETag", "")).strip('"')
    size = int(head.get("ContentLength", 0))
    encrypted = str(head.get("ServerSideEncryption", "")).startswith("aws:kms") or bool(
        head.get("SSECustomerAlgorithm")
    )
    if etag and "-" not in etag and not encrypted:
        return f"md5:{etag}:{size}"
    for algorithm in _FULL_CHECKSUMS:
        value = head.get(f"Checksum{algorithm}")
        kind = head.get("ChecksumType")
        if value and (kind == "FULL_OBJECT" or (kind is None and "-" not in str(value))):
            return f"{algorithm.lower()}:{value}:{size}"
    return f"etag:{etag}:{size}"


def _matches(parts: list[str], pattern: list[str]) -> bool:
    """pathlib's glob on a key's segments: `*`, `?` and `[…]` within a segment, `**` for any
    number of folders (never the file itself)."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        rest = pattern[1:]
        return bool(rest) and any(_matches(parts[i:], rest) for i in range(len(parts)))
    return bool(parts) and fnmatchcase(parts[0], pattern[0]) and _matches(parts[1:], pattern[1:])


def _mtime(item: Mapping[str, Any]) -> float:
    """LastModified in whole seconds: a listing shows milliseconds, HeadObject only seconds,
    and the two must agree (the controller's quick check compares them)."""
    return float(int(item["LastModified"].timestamp()))


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def s3_filesystem(target: AwsTarget) -> Any:
    """The fsspec filesystem DuckDB reads and writes s3:// through (its httpfs extension cannot
    be installed here): same endpoint and region, credentials from the standard chain. No
    listings cache: objects published through boto3 must be seen at once."""
    try:
        import s3fs
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError(
            "a lake on S3 needs s3fs", fix="Install the aws extra: pip install 'medalist[aws]'."
        ) from None
    client_kwargs = {"region_name": target.region} if target.region else {}
    return s3fs.S3FileSystem(
        endpoint_url=target.endpoint_url,
        client_kwargs=client_kwargs,
        use_listings_cache=False,
        skip_instance_cache=True,
        # Each open object keeps a block of read-ahead (and a writer buffers a part): 8 MB,
        # not s3fs's 50 MB. A 2M-row run (84 MB CSV): 1,235 MB peak with 50 MB blocks,
        # 1,032 MB with 8 MB, the same run on local disk 931 MB; no slower.
        default_block_size=S3FS_BLOCK_BYTES,
    )
