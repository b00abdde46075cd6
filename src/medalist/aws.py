"""One way to reach AWS for every AWS adapter: clients with retries, and errors that say the fix.

Credentials always come from the standard chain (environment, profile, instance or task role),
never from pipeline.yaml. `endpoint_url` points every client at an S3-compatible store (MinIO,
Ceph, R2) or a local emulator. Throttling and 5xx answers are retried by botocore's standard
mode; what is still failing after that becomes a TransientError, so the workflow's own retry
policy applies. Everything else is terminal and names the resource and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from medalist.errors import ConfigError, MedalistError, TerminalError, TransientError

_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "TooManyRequestsException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "TransactionInProgressException",
    }
)
_MISSING_CODES = frozenset(
    {"NoSuchBucket", "ResourceNotFoundException", "EntityNotFoundException", "NotFound"}
)
_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
)
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)


@dataclass(frozen=True)
class AwsTarget:
    """Where the AWS adapters of one pipeline talk: a region and an optional endpoint."""

    region: str | None = None
    endpoint_url: str | None = None

    def client(self, service: str, attempts: int = 8) -> Any:
        """A boto3 client for `service` (cached per target: clients are thread-safe).
        `attempts`: fewer for a check that must fail fast (an endpoint that is down costs
        ~35 s of backoff at 8 attempts, ~1 s at 2)."""
        return _client(self, service, attempts)


@cache
def _client(target: AwsTarget, service: str, attempts: int) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError(
            "the AWS adapters need boto3",
            fix="Install the aws extra: pip install 'medalist[aws]'.",
        ) from None
    config = Config(
        retries={"mode": "standard", "max_attempts": attempts},
        connect_timeout=5,
        read_timeout=60,
    )
    return boto3.session.Session().client(
        service, region_name=target.region, endpoint_url=target.endpoint_url, config=config
    )


def aws_error(exc: BaseException, resource: str, target: AwsTarget) -> MedalistError:
    """Translate a botocore error about `resource` (e.g. "bucket acme-landing") into ours."""
    from botocore import exceptions as bx

    where = target.endpoint_url or f"AWS region {target.region or '(from the environment)'}"
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return ConfigError(
            f"no AWS credentials found to reach {resource}",
            fix="Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role "
            "is attached; pipeline.yaml never holds credentials.",
        )
    if isinstance(exc, bx.NoRegionError):
        return ConfigError(
            f"no AWS region for {resource}",
            fix="Set aws.region in pipeline.yaml (or AWS_REGION).",
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return TransientError(
            f"cannot reach {where} for {resource}: {exc}",
            fix="Check aws.endpoint_url and aws.region, and that the service is up.",
        )
    if isinstance(exc, bx.ReadTimeoutError | bx.ConnectionClosedError):
        return TransientError(f"{where} stopped answering about {resource}: {exc}")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        text = error.get("Message") or code
        if code in _TRANSIENT_CODES or status >= 500:
            return TransientError(f"{resource}: {code} from {where} ({text}); retrying may help")
        if code in _MISSING_CODES or status == 404:
            return ConfigError(
                f"{resource} does not exist in {where}",
                fix="Create it (or deploy the stack with `medalist aws deploy`), or correct "
                "the name and aws.region in pipeline.yaml.",
            )
        if code in _CREDENTIAL_CODES:
            return ConfigError(
                f"the AWS credentials were refused for {resource}: {text}",
                fix="Check AWS_PROFILE / AWS_ACCESS_KEY_ID, and that the keys are current.",
            )
        if code in _DENIED_CODES or status == 403:
            return ConfigError(
                f"access denied to {resource}: {text}",
                fix="Grant this role the permissions listed for the adapter in docs/aws.md.",
            )
        return TerminalError(f"{resource}: {code} from {where}: {text}")
    if isinstance(exc, MedalistError):
        return exc
    return TerminalError(f"{resource}: {type(exc).__name__}: {exc}")
