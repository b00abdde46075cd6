"""The run-log table on DynamoDB: created when missing, and every call's errors made ours.

Reads here are strongly consistent (GetItem, Query with ConsistentRead on the base table), except
`query_index`, which reads the status GSI and is only for listing runs. A condition that fails
is an answer, not an error: `put`/`update`/`delete` return False and `transact` the reasons.
Throttling and 5xx answers are retried by botocore; what still fails is a TransientError.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from medalist.aws import AwsTarget, aws_error
from medalist.errors import ConfigError, TransientError
from medalist.runlog.dynamo_items import BY_STATUS, from_dynamo, to_dynamo

TTL_ATTRIBUTE = "ttl"  # epoch seconds; only lapsed locks carry it
KEY_SCHEMA = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]


def table_definition() -> dict[str, Any]:
    """Keys, index and billing of the run-log table: what the adapter creates when the table is
    missing, and what the CloudFormation template declares (one definition for both)."""
    strings = ("pk", "sk", "status", "started_key")
    return {
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": KEY_SCHEMA,
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in strings],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": BY_STATUS,
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "started_key", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


_CONDITION_FAILED = "ConditionalCheckFailedException"
_CANCELLED = "TransactionCanceledException"
# Reasons a transaction was cancelled that another try can get past.
_RETRY_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
TRANSACT_ATTEMPTS = 10


class DynamoTable:
    """One DynamoDB table with string keys `pk` and `sk`, spoken to in plain Python values."""

    def __init__(self, name: str, target: AwsTarget) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.name, self.target = name, target
        self.resource = f"DynamoDB table {name}"
        self._client = target.client("dynamodb")
        self._ser, self._de = TypeSerializer(), TypeDeserializer()

    # -- the table itself -------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the table (on-demand billing) unless it exists, and wait until it is ACTIVE."""
        try:
            described = self._client.describe_table(TableName=self.name)["Table"]
        except Exception as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise self._error(exc) from exc
            self._create()
            return
        if described.get("KeySchema") != KEY_SCHEMA:
            raise ConfigError(
                f"{self.resource} exists but is not a medalist run log (its key schema is "
                f"{described.get('KeySchema')}, not pk HASH + sk RANGE)",
                fix="Name another table in `runlog: dynamodb://…` in pipeline.yaml; medalist "
                "creates it when missing.",
            )
        if described.get("TableStatus") != "ACTIVE":
            self._wait()

    def _create(self) -> None:
        try:
            self._client.create_table(TableName=self.name, **table_definition())
        except Exception as exc:
            if _code(exc) != "ResourceInUseException":  # another process created it first
                raise self._error(exc) from exc
        self._wait()
        try:  # lapsed locks go away by themselves (the template does the same)
            self._client.update_time_to_live(
                TableName=self.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
            )
        except Exception as exc:
            if "already enabled" not in str(exc).lower():
                raise self._error(exc) from exc

    def _wait(self) -> None:
        try:
            self._client.get_waiter("table_exists").wait(
                TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
            )
        except Exception as exc:
            raise self._error(exc) from exc

    # -- single items -----------------------------------------------------------------------

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        """The item, read strongly consistent; None if there is none."""
        out = self._call("get_item", Key=self._encode(key), ConsistentRead=True)
        return self._decode(out["Item"]) if "Item" in out else None

    def put(self, item: Mapping[str, Any], condition: str | None = None, **expr: Any) -> bool:
        """Write the item whole; False if `condition` does not hold."""
        args = _with_condition({"Item": self._encode(item)}, condition, expr, self._encode)
        return self._conditional("put_item", args)

    def update(
        self, key: Mapping[str, str], update: str, condition: str | None, **expr: Any
    ) -> bool:
        args = _with_condition(
            {"Key": self._encode(key), "UpdateExpression": update}, condition, expr, self._encode
        )
        return self._conditional("update_item", args)

    def delete(self, key: Mapping[str, str], condition: str | None = None, **expr: Any) -> bool:
        args = _with_condition({"Key": self._encode(key)}, condition, expr, self._encode)
        return self._conditional("delete_item", args)

    def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        """The items of `keys` that exist, strongly consistent, in no particular order."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):  # BatchGetItem takes at most 100 keys
            want: dict[str, Any] = {
                self.name: {
                    "Keys": [self._encode(k) for k in keys[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while want:
                out = self._call("batch_get_item", RequestItems=want)
                found += [self._decode(i) for i in out["Responses"].get(self.name, [])]
                want = out.get("UnprocessedKeys") or {}
                if want:
                    time.sleep(random.uniform(0.01, 0.1))
        return found

    # -- queries ----------------------------------------------------------------------------

    def query(
        self, pk: str, prefix: str | None = None, *, newest_first: bool = False, page: int = 0
    ) -> Iterator[dict[str, Any]]:
        """Items of partition `pk` (whose sk starts with `prefix`), strongly consistent, in sk
        order; `page` caps the items read per request (0: DynamoDB's 1 MB pages)."""
        names = {"#pk": "pk"}
        values: dict[str, Any] = {":pk": pk}
        condition = "#pk = :pk"
        if prefix:
            names["#sk"], values[":prefix"] = "sk", prefix
            condition += " AND begins_with(#sk, :prefix)"
        args: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": self._encode(values),
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        return self._pages(args, page)

    def query_index(self, status: str, *, page: int = 0) -> Iterator[dict[str, Any]]:
        """Runs of one status from the GSI, newest first: eventually consistent, so for listing
        runs to people only, never for deciding what to keep."""
        args: dict[str, Any] = {
            "IndexName": BY_STATUS,
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": self._encode({":s": status}),
            "ScanIndexForward": False,
        }
        return self._pages(args, page)

    def _pages(self, args: dict[str, Any], page: int) -> Iterator[dict[str, Any]]:
        if page:
            args["Limit"] = page
        while True:
            out = self._call("query", TableName=self.name, **args)
            yield from (self._decode(i) for i in out.get("Items", []))
            if "LastEvaluatedKey" not in out:
                return
            args["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    # -- transactions -----------------------------------------------------------------------

    def transact(self, actions: Sequence[Mapping[str, Any]]) -> list[str] | None:
        """Write every action or none (TransactWriteItems); None on success, else one
        cancellation reason per action ("None" for those that were fine). Conflicts with
        another transaction on the same items are tried again with jittered backoff."""
        items = [self._action(a) for a in actions]
        for attempt in range(TRANSACT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=items)
                return None
            except Exception as exc:
                if _code(exc) != _CANCELLED:
                    raise self._error(exc) from exc
                reasons = _reasons(exc)
                if not _RETRY_REASONS.intersection(reasons):
                    return reasons
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise TransientError(
            f"{self.resource}: a transaction kept conflicting with others "
            f"({TRANSACT_ATTEMPTS} tries); retrying the run may help"
        )

    def _action(self, action: Mapping[str, Any]) -> dict[str, Any]:
        """{"Put": {"Item": …, "ConditionExpression": …}} etc., in plain values → on the wire."""
        ((verb, body),) = action.items()
        wire: dict[str, Any] = {"TableName": self.name}
        for field, value in body.items():
            if field in ("Item", "Key", "ExpressionAttributeValues"):
                wire[field] = self._encode(value)
            else:
                wire[field] = value
        return {verb: wire}

    # -- plumbing ---------------------------------------------------------------------------

    def _conditional(self, op: str, args: dict[str, Any]) -> bool:
        try:
            getattr(self._client, op)(TableName=self.name, **args)
        except Exception as exc:
            if _code(exc) == _CONDITION_FAILED:
                return False
            raise self._error(exc) from exc
        return True

    def _call(self, op: str, **args: Any) -> dict[str, Any]:
        try:
            if op != "batch_get_item":
                args.setdefault("TableName", self.name)
            out: dict[str, Any] = getattr(self._client, op)(**args)
        except Exception as exc:
            raise self._error(exc) from exc
        return out

    def _error(self, exc: BaseException) -> Exception:
        return aws_error(exc, self.resource, self.target)

    def _encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(to_dynamo(v)) for k, v in values.items()}

    def _decode(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: from_dynamo(self._de.deserialize(v)) for k, v in item.items()}


def _with_condition(
    args: dict[str, Any], condition: str | None, expr: Mapping[str, Any], encode: Any
) -> dict[str, Any]:
    """Add a condition and its `names` (#n → attribute) and `values` (:v → value)."""
    if condition:
        args["ConditionExpression"] = condition
    if expr.get("names"):
        args["ExpressionAttributeNames"] = dict(expr["names"])
    if expr.get("values"):
        args["ExpressionAttributeValues"] = encode(expr["values"])
    return args


def _reasons(exc: BaseException) -> list[str]:
    """One code per action of a cancelled transaction: "None", "ConditionalCheckFailed", …"""
    response = getattr(exc, "response", None) or {}
    return [str(r.get("Code", "None")) for r in response.get("CancellationReasons", [])]


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
