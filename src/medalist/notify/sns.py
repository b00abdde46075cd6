"""Alerts as SNS publishes: the message as JSON, a subject for email subscribers, and message
attributes (status, dataset, state, pipeline) that subscription filter policies select on.

SNS's limits, kept here: a subject is UTF-8 without line breaks or control characters and
under 100 characters (we send ASCII: SNS rewrites non-ASCII subjects for email); a message and
its attributes are at most 256 KB. An oversized message loses detail (schema diff, rule counts)
first and its halt reason never, unless the reason alone is over the limit. Throttling and 5xx
answers are transient (medalist.aws); the outbox tries again later either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from medalist.aws import AwsTarget, aws_error
from medalist.config import Pipeline, SnsNotification
from medalist.notify import subject

SUBJECT_MAX = 99  # "less than 100 characters"
MESSAGE_MAX = 262_144  # bytes, message and attributes together
_KEPT = ("event", "pipeline", "run_id", "alert_id", "dataset", "file", "state", "reason")
_CUT = " …[cut: see `medalist show {run_id}`]"


class SnsNotifier:
    def __init__(
        self, spec: SnsNotification, pipeline: Pipeline, target: AwsTarget | None = None
    ) -> None:
        self.spec = spec
        self.target = target or _target(spec, pipeline)

    def send(self, message: dict[str, Any]) -> None:
        attributes = message_attributes(message)
        request: dict[str, Any] = {
            "TopicArn": self.spec.topic_arn,
            "Subject": sns_subject(message),
            "Message": fit(message, MESSAGE_MAX - _size(attributes)),
            "MessageAttributes": attributes,
        }
        if self.spec.topic_arn.endswith(".fifo"):
            # A FIFO topic drops a second publish of the same alert (the outbox is at least once).
            request["MessageGroupId"] = str(message.get("pipeline") or "medalist")
            request["MessageDeduplicationId"] = str(message.get("alert_id") or message["run_id"])
        try:
            self.target.client("sns").publish(**request)
        except Exception as exc:
            raise aws_error(exc, f"SNS topic {self.spec.topic_arn}", self.target) from exc


def _target(spec: SnsNotification, pipeline: Pipeline) -> AwsTarget:
    """The topic's own region (from its ARN); the pipeline's endpoint, if it sets `aws:`."""
    aws = getattr(pipeline, "aws", None)
    return AwsTarget(spec.region, getattr(aws, "endpoint_url", None))


def sns_subject(message: dict[str, Any]) -> str:
    """The usual subject as printable ASCII, cut to SNS's limit."""
    text = subject(message).encode("ascii", "replace").decode()
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3] + "..."


def message_attributes(message: dict[str, Any]) -> dict[str, dict[str, str]]:
    """What filter policies match on, e.g. {"status": ["FAILED"], "dataset": ["orders"]} or
    {"outcome": ["WARN", "FAIL"]} (a success that needs a look, decision 0020)."""
    values = {
        "status": "FAILED" if message["event"] == "FAIL" else "SUCCEEDED",
        "outcome": message.get("outcome"),
        "dataset": message.get("dataset"),
        "state": message.get("state"),
        "pipeline": message.get("pipeline"),
    }
    return {
        name: {"DataType": "String", "StringValue": str(value)}
        for name, value in values.items()
        if value  # SNS refuses an empty attribute value
    }


def fit(message: dict[str, Any], limit: int) -> str:
    """The message as JSON in at most `limit` UTF-8 bytes: the longest detail values are cut
    first; the halt reason and the identifying fields are kept whole."""
    shrunk = dict(message)
    cut = _CUT.format(run_id=message.get("run_id", ""))
    details = sorted(
        (k for k in shrunk if k not in _KEPT), key=lambda k: -len(_json(shrunk[k]).encode())
    )
    # The reason goes last, and only when it alone is over SNS's limit.
    for key in [*details, "reason"]:
        over = len(_json(shrunk).encode()) - limit
        if over <= 0:
            break
        value = shrunk.get(key)
        if value is not None:  # a dict or list becomes its JSON text, cut
            shrunk[key] = _shorten(value if isinstance(value, str) else _json(value), over, cut)
    return _json(shrunk)


def _shorten(text: str, over: int, cut: str) -> str:
    """`text` at least `over` bytes shorter as JSON (escapes included), ending in `cut`."""
    data = _json(text).encode()
    keep = max(len(data) - over - len(_json(cut).encode()) - 8, 0)
    while True:
        short = data[:keep].decode(errors="ignore").removeprefix('"')
        try:
            head = json.loads(f'"{short}"')
        except json.JSONDecodeError:  # cut inside an escape: step back over it
            keep -= 1
            continue
        return head + cut


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _size(attributes: dict[str, dict[str, str]]) -> int:
    """Bytes the attributes count towards the limit: names, types and values."""
    return sum(
        len(name.encode()) + len(a["DataType"]) + len(a["StringValue"].encode())
        for name, a in attributes.items()
    )
