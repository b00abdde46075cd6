"""`medalist land NAME… --dataset D --presign`: a time-limited URL a client PUTs one file to,
straight into landing/<dataset>/ on S3 (no medalist, no AWS credentials on the client's side).

The URL is signed with the credentials of whoever runs the command, and can do no more than
they can: sign with the dataset's uploader role (the stack's <Role>AccessRole, whose IAM allows
s3:PutObject on its datasets' landing prefixes only). It also signs `If-None-Match: *`, so the
PUT cannot replace a file already in landing (S3 answers 412), and an object exists only once
its upload is complete: the controller never sees half a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from medalist.config import Pipeline
from medalist.errors import ConfigError
from medalist.integration.land import dataset_spec, would_read
from medalist.integration.receive import NAME
from medalist.metastore import now
from medalist.storage import Storage

MAX_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL lives
HEADERS = {"If-None-Match": "*"}  # signed: the client must send it


@dataclass(frozen=True)
class Presigned:
    path: str  # inside the landing zone
    url: str
    expires_at: datetime
    headers: dict[str, str]

    def curl(self, local: str) -> str:
        sent = " ".join(f"-H '{k}: {v}'" for k, v in self.headers.items())
        return f"curl --fail -X PUT {sent} -T {local} '{self.url}'"


def presign(
    pipeline: Pipeline, storage: Storage, dataset: str, name: str, seconds: int = 3600
) -> Presigned:
    """A PUT URL for landing/<dataset>/<name>, valid for `seconds`."""
    spec = dataset_spec(pipeline, dataset)
    target = f"{dataset}/{name}"
    if not NAME.match(name):
        raise ConfigError(
            f"{name!r} is not a plain file name",
            fix="Give a name without '/', '\\' or control characters, not starting with '.'.",
        )
    if not would_read(spec.source, target):
        raise ConfigError(
            f"landing/{target} would not be read: dataset {dataset} takes {spec.source!r}",
            fix="Pick a name the dataset's source matches, or change its source.",
        )
    if not 1 <= seconds <= MAX_SECONDS:
        raise ConfigError(
            f"--expires {seconds}: a presigned URL lives 1 s to 7 days",
            fix=f"Give 1 to {MAX_SECONDS} seconds.",
        )
    from medalist.storage.s3 import S3Storage

    if not isinstance(storage, S3Storage):
        raise ConfigError(
            "presigned upload URLs need a lake on S3, and this lake is a local folder",
            fix="Let clients use the dashboard's PUT /api/landing/<dataset>/<name>, or "
            "medalist land (docs/integration.md).",
        )
    import boto3
    from botocore.config import Config

    aws = storage.target
    # SigV4 (boto3 may presign with SigV2, which signs no header and outlives 7 days)
    s3 = boto3.session.Session().client(
        "s3",
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        config=Config(signature_version="s3v4"),
    )
    root = storage.roots["landing"]
    url = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": root.bucket, "Key": root.key(target), "IfNoneMatch": "*"},
        ExpiresIn=seconds,
        HttpMethod="PUT",
    )
    return Presigned(target, url, now() + timedelta(seconds=seconds), dict(HEADERS))
