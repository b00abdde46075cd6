"""The items of the DynamoDB run-log table: their keys, how a record becomes an item and back,
and the bound that keeps a run's item under DynamoDB's 400 KB.

One table holds every kind of item (docs/decisions/0017-dynamodb-run-log.md), told apart by
their keys (`pk`, `sk`):

    pk                          sk                          what
    <run_id>                    RUN                         the run record (every field)
    RUNIDS                      <run_id>                    a run exists: get by id prefix
    DS#<dataset>                RUN#<started>#<run_id>      a dataset's runs: list, live/replaced
    RUNNING                     <started>#<run_id>          runs RUNNING now (staged files kept)
    FILE#<dataset>#<file>       HASH#<file_hash>            the file registry: who claimed it
    FILE#<dataset>#<file>       RUN#<run_id>                every run of a path: the last one
    HEADS#<pipeline>            <name>                      which version readers see
    LOCK#<name>                 LOCK                        a lock, its owner and expiry
    OUTBOX                      <alert key>                 an alert not delivered yet
    SENT#<alert key>            ALERT                       a delivered alert (kept for audit)

Dataset names are lower_snake_case (config), so `#` never occurs inside one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from medalist.runlog import Alert, RunRecord, Transition

RUN_SK = "RUN"
RUNIDS = "RUNIDS"
RUNNING = "RUNNING"
OUTBOX = "OUTBOX"
BY_STATUS = "by_status"  # GSI (status, started_key): listing finished runs for the CLI/dashboard

# DynamoDB refuses items over 400 KB; past this estimate a run's history is shortened.
ITEM_BUDGET = 350_000
_DROPPED = re.compile(r"^(\d+) transitions dropped here")

Key = dict[str, str]


def stamp(moment: datetime) -> str:
    """UTC, milliseconds: strings that sort (and compare in conditions) as the instants do."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def started_key(run: RunRecord) -> str:
    return f"{stamp(run.started_at)}#{run.run_id}"


def run_key(run_id: str) -> Key:
    return {"pk": run_id, "sk": RUN_SK}


def id_key(run_id: str) -> Key:
    return {"pk": RUNIDS, "sk": run_id}


def dataset_pk(dataset: str) -> str:
    return f"DS#{dataset}"


def dataset_key(run: RunRecord) -> Key:
    return {"pk": dataset_pk(run.dataset), "sk": f"RUN#{started_key(run)}"}


def running_key(run: RunRecord) -> Key:
    return {"pk": RUNNING, "sk": started_key(run)}


def file_pk(dataset: str, file: str) -> str:
    return f"FILE#{dataset}#{file}"


def claim_key(dataset: str, file: str, file_hash: str) -> Key:
    return {"pk": file_pk(dataset, file), "sk": f"HASH#{file_hash}"}


def path_run_key(run: RunRecord) -> Key:
    return {"pk": file_pk(run.dataset, run.file), "sk": f"RUN#{run.run_id}"}


def heads_pk(pipeline: str) -> str:
    return f"HEADS#{pipeline}"


def lock_key(name: str) -> Key:
    return {"pk": f"LOCK#{name}", "sk": "LOCK"}


def alert_key(key: str) -> Key:
    return {"pk": OUTBOX, "sk": key}


def sent_key(key: str) -> Key:
    return {"pk": f"SENT#{key}", "sk": "ALERT"}


def committed(run: RunRecord) -> bool:
    """Its Transform is committed: its silver rows are what readers see (until replaced)."""
    return run.outputs.get("Transform") is not None


def run_item(run: RunRecord) -> dict[str, Any]:
    """The record as an item: the run-log fields as attributes (None ones left out), times as
    UTC strings, `outputs` (each state's free-form result) as JSON text so it reads back
    exactly as written, and `started_key` for the status index."""
    data = run.model_dump(mode="json")
    data.update(
        started_at=stamp(run.started_at),
        ended_at=stamp(run.ended_at) if run.ended_at else None,
        lease_expires_at=stamp(run.lease_expires_at) if run.lease_expires_at else None,
        outputs=json.dumps(data["outputs"]),
        started_key=started_key(run),
        **run_key(run.run_id),
    )
    return {k: v for k, v in data.items() if v is not None}


def run_from_item(item: Mapping[str, Any]) -> RunRecord:
    data = {k: item[k] for k in RunRecord.model_fields if k in item}
    data["outputs"] = json.loads(item.get("outputs", "{}"))
    return RunRecord.model_validate(data)


def dataset_item(run: RunRecord) -> dict[str, Any]:
    """What live/replaced runs and listing by dataset need, small enough to read them all."""
    item = {
        **dataset_key(run),
        "run_id": run.run_id,
        "status": str(run.status),
        "committed": committed(run),
    }
    return item | ({"replaces": run.replaces} if run.replaces else {})


def running_item(run: RunRecord) -> dict[str, Any]:
    return {**running_key(run), "run_id": run.run_id, "dataset": run.dataset}


def alert_item(alert: Alert) -> dict[str, Any]:
    item = {
        **alert_key(alert.key),
        "key": alert.key,
        "pipeline": alert.pipeline,
        "channel": alert.channel,
        "run_id": alert.run_id,
        "message": json.dumps(alert.message, default=str),
        "created_at": stamp(alert.created_at),
        "attempts": alert.attempts,
        "next_at": stamp(alert.next_at or alert.created_at),
    }
    return item | ({"last_error": alert.last_error} if alert.last_error else {})


def alert_from_item(item: Mapping[str, Any]) -> Alert:
    def moment(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return Alert(
        key=item["key"],
        pipeline=item["pipeline"],
        channel=item["channel"],
        run_id=item["run_id"],
        message=json.loads(item["message"]),
        created_at=datetime.fromisoformat(item["created_at"]),
        attempts=int(item.get("attempts", 0)),
        next_at=moment(item.get("next_at")),
        last_error=item.get("last_error"),
        delivered_at=moment(item.get("delivered_at")),
    )


def bounded(run: RunRecord) -> RunRecord:
    """The run, with the oldest transitions after the first replaced by one marker when its
    item would pass ITEM_BUDGET: "37 transitions dropped here …" (the count adds up over
    repeated trims). A run retried hundreds of times keeps its first and its latest steps."""
    size = _size(run_item(run))
    history = run.history
    if size <= ITEM_BUDGET or len(history) < 3:
        return run
    excess = size - ITEM_BUDGET + 200  # room for the marker
    dropped, freed, cut = 0, 0, 1
    while cut < len(history) - 1 and freed < excess:
        step = history[cut]
        freed += _size(step.model_dump(mode="json"))
        dropped += _dropped_by(step) or 1
        cut += 1
    first = history[1]
    marker = Transition(
        state=first.state,
        status=first.status,
        at=first.at,
        attempt=first.attempt,
        detail=f"{dropped} transitions dropped here to keep the run under DynamoDB's item limit",
    )
    return run.model_copy(update={"history": [history[0], marker, *history[cut:]]})


def _dropped_by(step: Transition) -> int:
    """How many transitions an earlier marker stood for (0 for an ordinary transition)."""
    found = _DROPPED.match(step.detail or "")
    return int(found.group(1)) if found else 0


def _size(value: Any) -> int:
    """An upper estimate of an item's size: its JSON text in bytes."""
    return len(json.dumps(value, default=str).encode())


def to_dynamo(value: Any) -> Any:
    """Plain values as the DynamoDB serializer wants them (numbers as Decimal)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Decimals back to int (whole) or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value
