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
    <run_id>                    MEMBERS#<digest>#<n>        a compaction's members, in parts

Dataset names are lower_snake_case (config), so `#` never occurs inside one.

A compaction's `outputs.Compact.members` (the runs it absorbed, decision 0029) can be any number
of run ids: a month of hourly files from a thousand stores is 720,000. They are never cut to fit
the 400 KB item: they live in items of their own, MEMBERS_PER_ITEM ids each, keyed by a digest
of the whole list, written before the transaction that commits the record (which names the
digest and the number of parts). A part is never rewritten with other content (another list has
another digest), so a writer that loses the race for the record cannot spoil what the winner
committed; parts no committed record names are unread.
"""

from __future__ import annotations

import hashlib
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
# One TransactWriteItems: at most 100 actions and 4 MB of items (AWS; moto enforces the count
# only). A batch's runs share TRANSACTION_BUDGET; each run takes ACTIONS_PER_RUN actions.
MAX_ACTIONS = 100
TRANSACTION_BUDGET = 3_800_000
ACTIONS_PER_RUN = 3  # the record, its dataset entry, its RUNNING entry (or that entry's removal)
MEMBERS_PER_ITEM = 8_000  # run ids (26 characters and a space) per part: ≈ 216 KB
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


def members_key(run_id: str, digest: str, part: int) -> Key:
    return {"pk": run_id, "sk": f"MEMBERS#{digest}#{part:05d}"}


def committed(run: RunRecord) -> bool:
    """Its Transform (or its compaction, decision 0029) is committed: its silver rows are what
    readers see (until replaced or compacted)."""
    return run.outputs.get("Transform") is not None or "Compact" in run.outputs


def _members(run: RunRecord) -> list[str] | None:
    compact = run.outputs.get("Compact")
    return compact.get("members") if isinstance(compact, dict) else None


def members_ref(run: RunRecord) -> dict[str, Any]:
    """{members_digest, members_items} of a compaction with members; {} for any other run."""
    members = _members(run)
    if members is None:
        return {}
    digest = hashlib.sha256(json.dumps(members).encode()).hexdigest()[:16]
    return {"members_digest": digest, "members_items": -(-len(members) // MEMBERS_PER_ITEM)}


def member_items(run: RunRecord) -> list[dict[str, Any]]:
    """A compaction's members in parts of MEMBERS_PER_ITEM (none for any other run)."""
    members, ref = _members(run), members_ref(run)
    if members is None:
        return []
    return [
        {
            **members_key(run.run_id, ref["members_digest"], part),
            # one string, not a list: 8,000 list elements cost (de)serializing each
            "members": " ".join(members[part * MEMBERS_PER_ITEM : (part + 1) * MEMBERS_PER_ITEM]),
        }
        for part in range(ref["members_items"])
    ]


def member_keys(item: Mapping[str, Any]) -> list[Key]:
    """The keys of the parts a run item (or its dataset entry) names."""
    if "members_items" not in item:
        return []
    run_id, digest = item["run_id"], item["members_digest"]
    return [members_key(run_id, digest, n) for n in range(int(item["members_items"]))]


def run_item(run: RunRecord) -> dict[str, Any]:
    """The record as an item: the run-log fields as attributes (None ones left out), times as
    UTC strings, `outputs` (each state's free-form result) as JSON text so it reads back
    exactly as written, and `started_key` for the status index."""
    data = run.model_dump(mode="json")
    if _members(run) is not None:  # in their own items (member_items)
        data["outputs"]["Compact"] = {
            k: v for k, v in data["outputs"]["Compact"].items() if k != "members"
        }
    data.update(
        started_at=stamp(run.started_at),
        ended_at=stamp(run.ended_at) if run.ended_at else None,
        lease_expires_at=stamp(run.lease_expires_at) if run.lease_expires_at else None,
        outputs=json.dumps(data["outputs"]),
        started_key=started_key(run),
        **run_key(run.run_id),
        **members_ref(run),
    )
    return {k: v for k, v in data.items() if v is not None}


def run_from_item(
    item: Mapping[str, Any], parts: Mapping[tuple[str, str], Mapping[str, Any]] | None = None
) -> RunRecord:
    """The record of a run item; a compaction's members from `parts` ((pk, sk) -> part)."""
    data = {k: item[k] for k in RunRecord.model_fields if k in item}
    data["outputs"] = json.loads(item.get("outputs", "{}"))
    keys = member_keys(item)
    if keys:
        found = parts or {}
        missing = [k["sk"] for k in keys if (k["pk"], k["sk"]) not in found]
        if missing:  # written before the record that names them: cannot happen
            raise RuntimeError(f"run {item['run_id']}: members part {missing[0]} is missing")
        members = [m for k in keys for m in found[k["pk"], k["sk"]]["members"].split()]
        data["outputs"]["Compact"]["members"] = members
    elif "members_items" in item:  # a compaction that absorbed nothing
        data["outputs"]["Compact"]["members"] = []
    return RunRecord.model_validate(data)


def dataset_item(run: RunRecord) -> dict[str, Any]:
    """What live/replaced runs and listing by dataset need, small enough to read them all."""
    item = {
        **dataset_key(run),
        "run_id": run.run_id,
        "status": str(run.status),
        "committed": committed(run),
        **members_ref(run),
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


def bounded(run: RunRecord, budget: int = ITEM_BUDGET) -> RunRecord:
    """The run, with the oldest transitions after the first replaced by one marker when its
    item would pass `budget` (ITEM_BUDGET; less in a batch sharing one transaction): "37
    transitions dropped here …" (the count adds up over repeated trims). A run retried hundreds
    of times keeps its first and its latest steps."""
    size = item_size(run_item(run))
    history = run.history
    if size <= budget or len(history) < 3:
        return run
    excess = size - budget + 200  # room for the marker
    dropped, freed, cut = 0, 0, 1
    while cut < len(history) - 1 and freed < excess:
        step = history[cut]
        freed += item_size(step.model_dump(mode="json"))
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


def item_size(value: Any) -> int:
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
