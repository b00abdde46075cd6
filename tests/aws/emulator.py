"""A local AWS endpoint for the AWS adapters' tests: moto in server mode, in its own process.

A real HTTP endpoint on 127.0.0.1 speaking the same wire protocol as AWS, so boto3, s3fs and
DuckDB's registered filesystem talk to it exactly as they would to S3, DynamoDB, Glue or SNS.
Its own process, so it survives what the tests do to theirs (kills, forks) and holds no GIL of
ours. One per test session; tests keep apart by unique bucket, table and database names.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

# moto accepts any credentials; the standard chain finds these in the environment.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
REGION = "eu-west-1"
ROOT = Path(__file__).resolve().parents[2]  # where `tests.aws.lambda_runtime` imports from


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    """Start moto's server on 127.0.0.1 and yield its endpoint URL; stop it afterwards.
    DynamoDB requests are served one at a time (tests/aws/moto_serial.py says why), and Lambda
    runs the functions' handlers (tests/aws/lambda_runtime.py).

    Fails loudly (never skips) when moto is not installed or the server does not come up."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.aws.moto_serial", "127.0.0.1", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=ROOT,
        )
        try:
            _wait_until_up(proc, url, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"moto server exited at start-up ({proc.returncode}): {err}")
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not answer on {url} in 30 s") from None
            time.sleep(0.1)


def unique(prefix: str) -> str:
    """A bucket/table/database name no other test uses (S3 bucket naming rules hold)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def use_fake_credentials() -> None:
    for key, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(key, value)
