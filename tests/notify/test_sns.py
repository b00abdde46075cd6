"""Alerts through SNS, on the moto server: an SQS queue subscribed to the topic reads what
arrives (raw delivery: the JSON message and its attributes; the envelope: the subject), a
filter policy on `status` picks failures, and a missing topic is an error naming it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import yaml

from medalist.aws import AwsTarget
from medalist.config import SnsNotification
from medalist.controller import run_pipeline
from medalist.errors import ConfigError
from medalist.loader import load_pipeline
from medalist.notify.outbox import deliver_due
from medalist.notify.sns import MESSAGE_MAX, SUBJECT_MAX, SnsNotifier, fit, sns_subject
from medalist.runlog import Status
from medalist.wiring import local_ports
from tests.aws.emulator import REGION, unique
from tests.conftest import HEADER, Project

GOOD = HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n2,2026-11-24 09:00:00,7,0,1.00,PAID\n"
BAD = b"\x00\x01binary"


class Topic:
    """A topic with SQS queues subscribed to it, read back as a subscriber would."""

    def __init__(self, endpoint: str) -> None:
        self.sns = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
        self.arn = self.sns.create_topic(Name=unique("alerts"))["TopicArn"]
        self.target = AwsTarget(REGION, endpoint)

    def queue(self, raw: bool = True, filter_policy: dict[str, Any] | None = None) -> str:
        url = self.sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attributes = {"RawMessageDelivery": "true"} if raw else {}
        if filter_policy:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
        self.sns.subscribe(
            TopicArn=self.arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes
        )
        return str(url)

    def received(self, url: str) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
        )
        return list(found.get("Messages", []))


@pytest.fixture
def topic(aws_endpoint: str) -> Topic:
    return Topic(aws_endpoint)


def sns_project(make_project: Callable[..., Project], topic: Topic) -> Project:
    return make_project(notifications=[{"type": "sns", "topic_arn": topic.arn}])


def run(project: Project, topic: Topic) -> Any:
    """Run the project with its SNS channel on the moto server (the `aws:` key that carries
    the endpoint comes with the other AWS adapters; here the target is given directly)."""
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    (spec,) = pipeline.notifications
    assert isinstance(spec, SnsNotification)
    ports.notifiers = {"sns": SnsNotifier(spec, pipeline, topic.target)}
    return run_pipeline(pipeline, ports), ports


def attrs(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


def test_each_run_publishes_its_message_with_attributes_for_filter_policies(
    make_project: Callable[..., Project], topic: Topic
) -> None:
    raw, envelope = topic.queue(), topic.queue(raw=False)
    project = sns_project(make_project, topic)
    project.land("orders/2026-11-24.csv", GOOD)
    outcome, ports = run(project, topic)
    (run_,) = outcome.runs

    (message,) = topic.received(raw)
    body = json.loads(message["Body"])
    assert body["event"] == "SUCCESS" and body["run_id"] == run_.run_id
    assert body["rows_in"] == 2 and body["rows_quarantined"] == 1
    assert body["alert_id"].startswith(run_.run_id)  # the idempotency key
    assert attrs(message) == {
        "status": "SUCCEEDED",
        "outcome": "WARN",  # 1 of 2 rows quarantined: above the 5% attention threshold
        "dataset": "orders",
        "state": "Load",
        "pipeline": "shop",
    }
    (wrapped,) = topic.received(envelope)
    note = json.loads(wrapped["Body"])
    assert note["Subject"] == (
        "[medalist] WARN: SUCCEEDED orders 2026-11-24.csv: 2 in, 1 quarantined"
    )
    assert json.loads(note["Message"]) == body
    assert ports.outbox.undelivered() == []


def test_a_filter_policy_on_status_gets_only_failures(
    make_project: Callable[..., Project], topic: Topic
) -> None:
    everything = topic.queue()
    failures = topic.queue(filter_policy={"status": ["FAILED"]})
    project = sns_project(make_project, topic)
    project.land("orders/2026-11-24.csv", GOOD)
    project.land("orders/2026-11-25.csv", BAD)
    outcome, _ = run(project, topic)
    failed = next(r for r in outcome.runs if r.status == Status.FAILED)

    assert sorted(attrs(m)["status"] for m in topic.received(everything)) == [
        "FAILED",
        "SUCCEEDED",
    ]
    (only,) = topic.received(failures)
    body = json.loads(only["Body"])
    assert attrs(only)["status"] == "FAILED" and attrs(only)["state"] == failed.state
    assert body["run_id"] == failed.run_id and body["reason"] == failed.error["message"]


def test_a_missing_topic_keeps_the_alert_and_names_the_topic(
    make_project: Callable[..., Project], topic: Topic
) -> None:
    missing = topic.arn.rsplit(":", 1)[0] + ":" + unique("gone")
    spec = SnsNotification(type="sns", topic_arn=missing)
    project = make_project(notifications=[{"type": "sns", "topic_arn": missing}])
    notifier = SnsNotifier(spec, project.pipeline, topic.target)
    message = {"event": "FAIL", "run_id": "R1", "dataset": "orders", "file": "a.csv"}
    with pytest.raises(ConfigError) as caught:
        notifier.send({**message, "state": "Crawl", "pipeline": "shop", "reason": "x"})
    assert missing in caught.value.message and caught.value.fix

    project.land("orders/2026-11-24.csv", GOOD)
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    ports.notifiers = {"sns": notifier}
    run_pipeline(pipeline, ports)
    (kept,) = ports.outbox.undelivered()  # still there for when the topic exists
    assert missing in (kept.last_error or "")
    assert deliver_due(ports.outbox, ports.notifiers, force=True).sent == []


def test_an_oversized_message_loses_detail_never_the_halt_reason(topic: Topic) -> None:
    raw = topic.queue()
    reason = "row 7, column amount: 'x' is not a decimal " + "é" * 20_000  # 40 KB
    message = {
        "event": "FAIL",
        "pipeline": "shop",
        "run_id": "R1",
        "dataset": "orders",
        "file": "orders/a.csv",
        "state": "Transform",
        "reason": reason,
        "schema_diff": ", ".join(f"+column_{i} VARCHAR" for i in range(30_000)),  # 600 KB
        "rule_counts": {f"rule_{i}": i for i in range(5_000)},
    }
    spec = SnsNotification(type="sns", topic_arn=topic.arn)
    notifier = SnsNotifier(spec, load_pipeline_stub(), topic.target)
    notifier.send(message)  # SNS refuses over 256 KB: this would raise

    (got,) = topic.received(raw)
    body = json.loads(got["Body"])
    assert len(got["Body"].encode()) <= MESSAGE_MAX
    assert body["reason"] == reason
    assert body["schema_diff"].startswith("+column_0 VARCHAR")
    assert "cut: see `medalist show R1`" in body["schema_diff"]


def test_only_a_reason_over_the_limit_is_cut() -> None:
    message = {"event": "FAIL", "run_id": "R1", "reason": 'ü\\"' * 200_000, "rows_in": 3}
    text = fit(message, MESSAGE_MAX)
    assert len(text.encode()) <= MESSAGE_MAX
    cut = json.loads(text)
    assert cut["reason"].startswith('ü\\"ü') and cut["reason"].endswith("`medalist show R1`]")
    assert json.loads(fit({**message, "reason": "short"}, MESSAGE_MAX))["reason"] == "short"


def test_the_subject_is_printable_ascii_under_100_characters() -> None:
    """EMULATOR GAP (moto 5.2): moto takes a 100-character subject, AWS wants fewer than 100,
    so the limit is pinned here rather than by a publish."""
    message = {
        "event": "FAIL",
        "dataset": "orders",
        "file": "orders/" + "überlang-\nname-" * 20 + ".csv",
        "state": "Transform",
    }
    subject = sns_subject(message)
    assert len(subject) <= SUBJECT_MAX and subject.isascii() and subject.isprintable()
    assert subject.startswith("[medalist] FAILED orders ?berlang- name-")
    assert subject.endswith("...")


def test_a_topic_arn_is_checked_on_load(tmp_path: Any) -> None:
    config = {
        "name": "shop",
        "datasets": {"orders": {"source": "orders/*.csv", "columns": {"id": {}}}},
        "notifications": [{"type": "sns", "topic_arn": "shop-alerts"}],
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(
        ConfigError, match=r"notifications\.0\.topic_arn: 'shop-alerts' is not an SNS"
    ):
        load_pipeline(path)
    spec = SnsNotification(type="sns", topic_arn="arn:aws:sns:us-east-2:123456789012:a.fifo")
    assert spec.region == "us-east-2"


def load_pipeline_stub() -> Any:
    """The notifier reads only `aws` (absent: the target is given) from the pipeline."""
    return object()
