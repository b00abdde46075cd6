"""What only the DynamoDB run log has: its table (created when missing), items that stay under
DynamoDB's 400 KB, and errors that name the table and the fix. Its RunLog/Outbox behaviour is
the contract suite's (tests/ports/test_runlog_contract.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from medalist.aws import AwsTarget
from medalist.errors import ConfigError, TransientError
from medalist.runlog import HISTORY_FIRST, HISTORY_LAST, RunRecord, Status, Transition
from medalist.runlog.dynamodb import DynamoRunLog
from tests.aws.emulator import REGION, unique
from tests.ports.runlogs import T0, record


@pytest.fixture
def table(aws_endpoint: str) -> str:
    return unique("runlog")


@pytest.fixture
def dynamodb(aws_endpoint: str) -> object:
    return boto3.client("dynamodb", endpoint_url=aws_endpoint, region_name=REGION)


def test_a_missing_table_is_created_on_demand_with_its_status_index(aws_endpoint, table, dynamodb):
    DynamoRunLog(table, AwsTarget(REGION, aws_endpoint))
    DynamoRunLog(table, AwsTarget(REGION, aws_endpoint))  # a second process finds it there

    described = dynamodb.describe_table(TableName=table)["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["by_status"]


def test_a_table_that_is_not_a_run_log_is_refused_by_name(aws_endpoint, table, dynamodb):
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    with pytest.raises(ConfigError, match=f"DynamoDB table {table} exists but is not a medalist"):
        DynamoRunLog(table, AwsTarget(REGION, aws_endpoint))


def test_the_run_item_has_the_run_log_fields_readable_by_other_tools(aws_endpoint, table, dynamodb):
    """Step Functions' dynamodb:updateItem and people in the console read the item itself."""
    runlog = DynamoRunLog(table, AwsTarget(REGION, aws_endpoint))
    run = runlog.claim(record(rule_counts={"quantity.min": 2}))

    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": run.run_id}, "sk": {"S": "RUN"}})
    item = item["Item"]
    assert item["run_id"] == {"S": run.run_id}
    assert item["status"] == {"S": "RUNNING"}
    assert item["version"] == {"N": "1"}
    assert item["started_at"] == {"S": "2026-11-24T09:00:00.000+00:00"}
    assert item["rule_counts"] == {"M": {"quantity.min": {"N": "2"}}}
    assert set(RunRecord.model_fields) - set(item) == {
        "state",  # the None fields are left out
        "ended_at",
        "duration_s",
        "rows_in",
        "rows_silver",
        "rows_quarantined",
        "rows_loaded",
        "error",
        "replaces",
        "file_mtime",
    }


def steps(n: int, start: int = 0, size: int = 250) -> list[Transition]:
    detail = "retry in 5s after: the destination is unavailable " + "x" * size
    return [
        Transition(
            state="Load",
            status=Status.RUNNING,
            at=T0 + timedelta(seconds=i),
            attempt=i + 1,
            detail=f"{i}: {detail}",
        )
        for i in range(start, start + n)
    ]


def test_a_run_retried_for_ever_keeps_its_first_and_latest_steps_under_the_item_limit(
    aws_endpoint, table, dynamodb
):
    """The port keeps the first 10 and last 50 transitions (runlog.bounded); when even those
    would pass DynamoDB's item limit (~8 KB details: ~480 KB), the oldest after the first also
    become one marker that counts them, across repeated trims."""
    runlog = DynamoRunLog(table, AwsTarget(REGION, aws_endpoint))
    run = runlog.claim(record())
    history = steps(1200, size=8000)

    stored = runlog.update(run.model_copy(update={"history": history}))

    assert stored.history_dropped == 1200 - HISTORY_FIRST - HISTORY_LAST
    assert stored.history[0] == history[0]
    assert stored.history[-30:] == history[-30:]
    marker = stored.history[1]
    assert marker.detail.endswith(
        "transitions dropped here to keep the run under DynamoDB's item limit"
    )
    trimmed = int(marker.detail.split()[0])
    assert trimmed == HISTORY_FIRST + HISTORY_LAST - (len(stored.history) - 1)
    assert runlog.get(run.run_id) == stored
    raw = dynamodb.get_item(TableName=table, Key={"pk": {"S": run.run_id}, "sk": {"S": "RUN"}})
    assert len(json.dumps(raw["Item"])) < 400_000

    again = runlog.update(
        stored.model_copy(update={"history": [*stored.history, *steps(300, 1200, size=8000)]})
    )
    assert len(json.dumps(again.model_dump(mode="json"))) < 400_000
    assert again.history[0] == history[0] and again.history[-1].attempt == 1500


def test_a_batch_of_long_histories_shares_one_transactions_4_mb(aws_endpoint, table, dynamodb):
    """A batch's commit is one TransactWriteItems, whose items AWS caps at 4 MB in all. Runs
    that each fill a 350 KB item (a file retried many times before it joined a batch) are
    shortened to their share, the first and latest steps kept, so the commit stays whole.
    Emulator gap: moto 5.2 checks the 100 actions but not the 4 MB; the test measures the
    items it wrote instead."""
    runlog = DynamoRunLog(table, AwsTarget(REGION, aws_endpoint))
    runs = [runlog.claim(record(file=f"orders/{n}.csv")) for n in range(14)]
    history = steps(60, size=5000)  # ≈ 310 KB an item, 4.3 MB for the batch
    done = runlog.update_many([r.model_copy(update={"history": history}) for r in runs])

    raw = [
        dynamodb.get_item(TableName=table, Key={"pk": {"S": r.run_id}, "sk": {"S": "RUN"}})
        for r in runs
    ]
    assert sum(len(json.dumps(r["Item"])) for r in raw) < 4_000_000 - 2_000 * len(runs)
    assert all(d.history[0] == history[0] and d.history[-20:] == history[-20:] for d in done)
    assert [runlog.get(r.run_id) for r in runs] == done


# -- errors -----------------------------------------------------------------------------------


def test_without_credentials_the_error_names_the_table_and_where_credentials_come_from(
    aws_endpoint, table, monkeypatch, tmp_path
):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(ConfigError) as caught:
        DynamoRunLog(table, AwsTarget(unique("nocreds"), aws_endpoint))  # a fresh client
    assert f"no AWS credentials found to reach DynamoDB table {table}" in str(caught.value)
    assert "AWS_PROFILE" in str(caught.value)


class RefusingAws:
    """A local endpoint that answers every request with one AWS error (throttling, 5xx)."""

    def __init__(self, status: int, code: str) -> None:
        self.requests = 0
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code})
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                owner.requests += 1
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """botocore's backoff between retries, recorded instead of slept (9 tries take ~1 min)."""
    waited: list[float] = []
    monkeypatch.setattr(time, "sleep", waited.append)
    yield waited


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "ThrottlingException"), (500, "InternalServerError"), (503, "ServiceUnavailable")],
    ids=["throttled", "internal-error", "unavailable"],
)
def test_throttling_and_5xx_are_retried_then_transient_naming_the_table(status, code, no_waiting):
    aws = RefusingAws(status, code)
    try:
        with pytest.raises(TransientError, match=f"DynamoDB table runs: {code} from {aws.url}"):
            DynamoRunLog("runs", AwsTarget(REGION, aws.url))
    finally:
        aws.close()
    assert aws.requests == 9  # botocore's 8 standard retries (medalist.aws), then ours to decide
    assert len(no_waiting) == 8


def test_an_endpoint_that_is_down_is_transient_and_says_what_to_check(no_waiting):
    aws = RefusingAws(500, "unused")
    aws.close()  # nothing listens there any more

    with pytest.raises(TransientError) as caught:
        DynamoRunLog("runs", AwsTarget(REGION, aws.url))
    assert f"cannot reach {aws.url} for DynamoDB table runs" in str(caught.value)
    assert "Check aws.endpoint_url and aws.region" in str(caught.value)
