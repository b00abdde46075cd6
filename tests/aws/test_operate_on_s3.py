"""What operators do, on a lake on S3 (both layouts): a file delivered again with new content
runs again, the same content does not; a replay after a contract fix replaces its run's rows
and the sweep removes the replaced run's objects; a retry runs on the content it claimed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from medalist.config import Pipeline
from medalist.controller import run_pipeline
from medalist.errors import Refused
from medalist.loader import load_pipeline
from medalist.operate import replay_dataset, retry_run
from medalist.runlog import Status
from medalist.storage.s3 import S3Storage
from medalist.wiring import open_ports
from medalist.workflow.context import Ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.aws.lake import s3_lake_config, staged_left
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT, read_table

LAYOUTS = ["prefix", "buckets"]


class S3Project:
    def __init__(self, root: Path, endpoint: str, layout: str, destination: str) -> None:
        self.root, self.destination = root, destination
        self.lake = s3_lake_config(endpoint, layout)
        self.metastore = root / "metastore"

    def configure(self, contract: dict[str, Any]) -> tuple[Pipeline, Ports]:
        config = {
            "name": "shop",
            "datasets": {"orders": contract},
            "models": {"daily_sales": DAILY_SALES},
            "notifications": [{"type": "file"}],
            "destination": self.destination,
            **self.lake,
        }
        (self.root / "pipeline.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        pipeline = load_pipeline(self.root / "pipeline.yaml")
        return pipeline, open_ports(pipeline)


def _put(ports: Ports, path: str, text: str) -> None:
    storage = ports.storage
    assert isinstance(storage, S3Storage)
    root = storage.roots["landing"]
    storage.s3.put_object(Bucket=root.bucket, Key=root.key(path), Body=text.encode())


@pytest.fixture(params=LAYOUTS, ids=LAYOUTS)
def project(request: pytest.FixtureRequest, aws_endpoint: str, tmp_path: Path) -> S3Project:
    return S3Project(tmp_path, aws_endpoint, request.param, request.getfixturevalue("pg_url"))


def test_a_file_delivered_again_runs_only_when_its_content_changed(project: S3Project) -> None:
    pipeline, ports = project.configure(ORDERS_CONTRACT)
    _put(ports, "orders/a.csv", HEADER + "1,2026-11-24 09:00:00,7,1,10.00,PAID\n")
    (first,) = run_pipeline(pipeline, ports).runs

    _put(ports, "orders/a.csv", HEADER + "1,2026-11-24 09:00:00,7,1,10.00,PAID\n")  # same bytes
    assert run_pipeline(pipeline, ports).runs == []
    _put(ports, "orders/a.csv", HEADER + "1,2026-11-24 09:00:00,7,3,10.00,PAID\n")  # corrected
    (second,) = run_pipeline(pipeline, ports).runs

    assert first.status == second.status == Status.SUCCEEDED
    assert first.file_hash.startswith("md5:") and second.file_hash != first.file_hash
    assert read_table(project.destination, "silver.orders", "order_id")[0][3] == 3


def test_replay_after_a_contract_fix_replaces_the_run_and_sweeps_its_objects(
    project: S3Project,
) -> None:
    pipeline, ports = project.configure(ORDERS_CONTRACT)
    _put(
        ports,
        "orders/2026-11-24.csv",
        HEADER + "1,2026-11-24 09:00:00,7,1,10.00,PAID\n2,2026-11-24 10:00:00,7,1,20.00,SHIPPED\n",
    )
    (first,) = run_pipeline(pipeline, ports).runs
    assert (first.rows_silver, first.rows_quarantined) == (1, 1)

    contract = json.loads(json.dumps(ORDERS_CONTRACT))
    contract["columns"]["status"]["accepted"].append("SHIPPED")
    pipeline, ports = project.configure(contract)
    (replay,) = replay_dataset(pipeline, ports, Runner(INGEST), "orders").runs

    assert replay.status == Status.SUCCEEDED and replay.replaces == first.run_id
    assert [r[5] for r in read_table(project.destination, "silver.orders", "order_id")] == [
        "PAID",
        "SHIPPED",
    ]
    silver = [f.path for f in ports.storage.find("silver", "orders/*.parquet")]
    assert silver == [f"orders/{replay.run_id}.parquet"]  # the replaced run's object is gone
    assert ports.storage.find("quarantine", "orders/*.parquet") == []
    assert isinstance(ports.storage, S3Storage) and staged_left(ports.storage) == []


def test_retry_refuses_a_file_whose_content_changed_since(project: S3Project) -> None:
    contract = {**ORDERS_CONTRACT, "max_bad_rows": 0}
    pipeline, ports = project.configure(contract)
    _put(ports, "orders/a.csv", HEADER + "1,2026-11-24 09:00:00,7,0,10.00,PAID\n")  # qty 0
    (failed,) = run_pipeline(pipeline, ports).runs
    assert failed.status == Status.FAILED and failed.state == "Transform"

    _put(ports, "orders/a.csv", HEADER + "1,2026-11-24 09:00:00,7,1,10.00,PAID\n")
    with pytest.raises(Refused, match=r"landing/orders/a\.csv changed since run"):
        retry_run(pipeline, ports, Runner(INGEST), failed.run_id)
    (fixed,) = run_pipeline(pipeline, ports).runs  # the new content is a new run
    assert fixed.status == Status.SUCCEEDED
