"""medalist land --presign: a client with nothing but the URL PUTs a file into landing on S3,
a run takes it; the URL cannot replace a landed file, and is refused where it cannot work."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from typer.testing import CliRunner

from medalist.cli import app
from medalist.errors import ConfigError
from medalist.integration.presign import presign
from medalist.runlog import Status
from medalist.wiring import local_ports
from tests.conftest import HEADER, Project
from tests.integration.lakes import Lake

CSV = HEADER + "1,2026-11-24T10:00:00,7,2,9.99,PAID\n"


def test_a_put_to_the_url_lands_the_file_and_a_run_takes_it(s3_lake: Lake) -> None:
    config = str(s3_lake.project.config_path)
    args = ["land", "2026-11-24.csv", "-d", "orders", "--presign", "--expires", "600", "-c", config]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    url = next(line for line in result.output.splitlines() if line.startswith("http"))
    assert "curl --fail -X PUT -H 'If-None-Match: *' -T 2026-11-24.csv" in result.output

    sent = requests.put(url, data=CSV.encode(), headers={"If-None-Match": "*"})
    assert sent.status_code == 200, sent.text
    assert s3_lake.names("orders") == ["orders/2026-11-24.csv"]
    (run,) = s3_lake.run().runs
    assert run.status == Status.SUCCEEDED and run.rows_in == 1

    again = requests.put(url, data=b"changed", headers={"If-None-Match": "*"})
    assert again.status_code == 412  # If-None-Match: * is part of the signature (S3 checks
    assert "X-Amz-SignedHeaders=host%3Bif-none-match" in url  # it; moto checks no signature)
    assert s3_lake.read("orders/2026-11-24.csv") == CSV.encode()


def test_presign_refuses_what_cannot_work(
    s3_lake: Lake, make_project: Callable[..., Project]
) -> None:
    storage = s3_lake.ports.storage
    with pytest.raises(ConfigError, match="would not be read"):
        presign(s3_lake.pipeline, storage, "orders", "2026-11-24.txt")
    with pytest.raises(ConfigError, match="no dataset"):
        presign(s3_lake.pipeline, storage, "nowhere", "a.csv")
    with pytest.raises(ConfigError, match="7 days"):
        presign(s3_lake.pipeline, storage, "orders", "a.csv", seconds=8 * 24 * 3600)
    local = make_project()
    with pytest.raises(ConfigError, match="need a lake on S3"):
        presign(local.pipeline, local_ports(local.pipeline).storage, "orders", "a.csv")
