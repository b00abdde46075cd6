"""The pipeline scenarios of tests/test_pipeline.py & co as one story, run on a local lake and on
the AWS-backed one (zones in S3 under one prefix or in a bucket per zone, run log in DynamoDB,
catalog in Glue, alerts through SNS, PostgreSQL destination): every run, every silver, gold and
quarantine row, every destination row, every schema version and every alert is the same.

The story: good and bad rows with a key re-sent in the file, a later file that updates keys
(dedupe across files), schema drift under `evolve`, an unreadable file, a file that fails its
bad-row ceiling; then a contract fix, the retry of the failed run and the replay of the first
file; gold has one incremental model (merged per run) and one rebuilt in full.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from medalist.config import Pipeline
from medalist.controller import Outcome, run_pipeline
from medalist.loader import load_pipeline
from medalist.operate import replay_dataset, retry_run
from medalist.runlog import Status
from medalist.storage.s3 import S3Storage, s3_filesystem
from medalist.wiring import open_ports
from medalist.workflow.context import Ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.aws.emulator import REGION, unique
from tests.aws.lake import (
    ZONES,
    database,
    destination_rows,
    s3_lake_config,
    staged_left,
    zone_rows,
)
from tests.conftest import HEADER, ORDERS_CONTRACT
from tests.test_pipeline import MIXED

CONTRACT = {**ORDERS_CONTRACT, "on_schema_drift": "evolve", "max_bad_rows": "75%"}
MODELS = {
    "daily": {  # decomposes: merged run by run (incremental gold)
        "sql": "SELECT CAST(order_ts AS DATE) AS day, count(*) AS orders, "
        "sum(quantity * unit_price) AS revenue FROM silver.orders GROUP BY 1",
        "primary_key": ["day"],
    },
    "average": {  # does not: rebuilt from all of silver
        "sql": "SELECT customer_id, avg(unit_price) AS mean FROM silver.orders GROUP BY 1",
        "primary_key": ["customer_id"],
    },
}
LATER = HEADER + (  # key 1 again (latest wins), a new key
    "1,2026-11-24 09:00:00,7,2,10.00,REFUNDED\n9,2026-11-25 10:00:00,8,1,4.00,PAID\n"
)
DRIFTED = (  # a coupon column appears, the optional status column is gone
    "order_id,order_ts,customer_id,quantity,unit_price,coupon\n"
    "10,2026-11-26 09:00:00,7,1,5.00,XMAS\n"
)
UNREADABLE = b"\x00\x01\x02order_id\xff\xfe,\x81\n\xc3("
ALL_BAD = HEADER + "11,2026-11-27 09:00:00,7,1,3.00,SHIPPED\n"  # 100% bad: over the ceiling
TABLES = {
    "silver.orders": "order_id",
    "gold.daily": "day",
    "gold.average": "customer_id",
}


class Place:
    """One pipeline folder whose lake is local or on the endpoint; the story drives it."""

    def __init__(self, root: Path, destination: str, lake: dict[str, Any]) -> None:
        self.root, self.destination, self.lake = root, destination, lake
        self.topic: str | None = None
        self.inbox: str | None = None

    def configure(self, contract: dict[str, Any]) -> tuple[Pipeline, Ports]:
        notifications: list[dict[str, Any]] = [{"type": "file"}]
        if self.topic:
            notifications.append({"type": "sns", "topic_arn": self.topic})
        config = {
            "name": "shop",
            "datasets": {"orders": contract},
            "models": MODELS,
            "notifications": notifications,
            "destination": self.destination,
            **self.lake,
        }
        (self.root / "pipeline.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        pipeline = load_pipeline(self.root / "pipeline.yaml")
        return pipeline, open_ports(pipeline)

    def put(self, ports: Ports, path: str, content: str | bytes) -> None:
        data = content.encode() if isinstance(content, str) else content
        if isinstance(ports.storage, S3Storage):
            root = ports.storage.roots["landing"]
            ports.storage.s3.put_object(Bucket=root.bucket, Key=root.key(path), Body=data)
            return
        target = self.root / "lake" / "landing" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _runs(outcome: Outcome) -> list[tuple[Any, ...]]:
    return sorted(
        (r.file, r.status, r.state, r.rows_in, r.rows_silver, r.rows_quarantined, r.rows_loaded)
        for r in outcome.runs
    )


def story(place: Place) -> dict[str, Any]:
    """Drive the story; what it produced, without what differs between runs (ids, times)."""
    steps = []
    pipeline, ports = place.configure(CONTRACT)
    place.put(ports, "orders/2026-11-24.csv", MIXED)
    place.put(ports, "orders/2026-11-25.csv", LATER)
    steps.append(_runs(run_pipeline(pipeline, ports)))

    place.put(ports, "orders/2026-11-26.csv", DRIFTED)
    place.put(ports, "orders/2026-11-27.csv", ALL_BAD)
    place.put(ports, "orders/2026-11-28.csv", UNREADABLE)
    second = run_pipeline(pipeline, ports)
    steps.append(_runs(second))

    fixed = json.loads(json.dumps(CONTRACT))  # SHIPPED becomes a valid status
    fixed["columns"]["status"]["accepted"].append("SHIPPED")
    pipeline, ports = place.configure(fixed)
    (over,) = [r for r in second.runs if r.file == "orders/2026-11-27.csv"]
    steps.append(_runs(retry_run(pipeline, ports, Runner(INGEST), over.run_id)))
    steps.append(
        _runs(
            replay_dataset(pipeline, ports, Runner(INGEST), "orders", file="orders/2026-11-24.csv")
        )
    )
    steps.append(_runs(run_pipeline(pipeline, ports)))  # nothing new: no run

    filesystem = s3_filesystem(pipeline.aws_target) if pipeline.lake_on_s3 else None
    alerts = [
        json.loads(line)
        for line in (pipeline.state_dir / "notifications.jsonl").read_text().splitlines()
    ]
    return {
        "steps": steps,
        "zones": {zone: zone_rows(ports.storage, zone, filesystem) for zone in ZONES},
        "destination": destination_rows(place.destination, TABLES),
        "schemas": [(v.version, v.columns, v.file) for v in ports.catalog.versions("orders")],
        "alerts": sorted(_alert(a) for a in alerts),
        "undelivered": len(ports.outbox.undelivered()),
        "ports": ports,
    }


def _alert(message: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(str(message.get(k)) for k in ("event", "dataset", "file", "state", "reason"))


@pytest.fixture(scope="module")
def local_story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The story on a local lake: the reference."""
    with database() as url:
        yield story(Place(tmp_path_factory.mktemp("local"), url, {}))


def _sns_inbox(endpoint: str, place: Place) -> Callable[[], list[dict[str, Any]]]:
    """A topic for the place's alerts and a queue subscribed to it (raw delivery); returns
    a reader of what the topic delivered."""
    sns = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
    place.topic = sns.create_topic(Name=unique("alerts"))["TopicArn"]
    url = sqs.create_queue(QueueName=unique("inbox"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=place.topic,
        Protocol="sqs",
        Endpoint=arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )

    def read() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            got += [json.loads(m["Body"]) for m in batch]
        return got

    return read


# A bucket per zone is the slow half (`make test-heavy`): the same code paths with other roots.
LAYOUTS = ["prefix", pytest.param("buckets", marks=pytest.mark.heavy)]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_pipeline_story_on_aws_gives_what_it_gives_on_a_local_lake(
    local_story: dict[str, Any], aws_endpoint: str, tmp_path: Path, layout: str
) -> None:
    with database() as url:
        place = Place(tmp_path, url, s3_lake_config(aws_endpoint, layout))
        inbox = _sns_inbox(aws_endpoint, place)

        got = story(place)

        assert got["steps"] == local_story["steps"]
        assert [len(s) for s in got["steps"]] == [2, 3, 1, 1, 0]
        assert [r[1] for r in got["steps"][1]] == [Status.SUCCEEDED, Status.FAILED, Status.FAILED]
        assert got["steps"][2][0][1] == got["steps"][3][0][1] == Status.SUCCEEDED
        for zone in ZONES:
            assert got["zones"][zone] == local_story["zones"][zone], zone
        assert got["destination"] == local_story["destination"]
        assert got["schemas"] == local_story["schemas"] and len(got["schemas"]) >= 3
        assert got["alerts"] == local_story["alerts"] and len(got["alerts"]) == 7
        assert sorted(_alert(m) for m in inbox()) == got["alerts"]  # SNS delivered each one
        assert got["undelivered"] == local_story["undelivered"] == 0
        storage = got["ports"].storage
        assert isinstance(storage, S3Storage) and staged_left(storage) == []
        assert not (tmp_path / "lake").exists()
