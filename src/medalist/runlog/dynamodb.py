"""The run log, file registry, locks, heads and alert outbox in one DynamoDB table.

The same semantics as the SQLite adapter, written as DynamoDB writes them: a claim is a
transaction of conditional puts, an update a Put conditional on `version` in one
TransactWriteItems with the heads it moves and the alerts it queues. Every read that decides
what to keep or delete is a strongly consistent GetItem or Query on the base table; only
listing finished runs for people reads a GSI. Item layout: runlog/dynamo_items.py and
docs/decisions/0017-dynamodb-run-log.md.
"""

from __future__ import annotations

import builtins
import heapq
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from medalist.aws import AwsTarget
from medalist.errors import NotFound, TerminalError
from medalist.metastore import now
from medalist.runlog import Alert, ConcurrentUpdate, RunRecord, Status, bounded
from medalist.runlog import dynamo_items as items
from medalist.runlog.dynamo_table import TTL_ATTRIBUTE, DynamoTable

_NEW = "attribute_not_exists(pk)"
HEADS_ROOM = 4  # actions of a batch's transaction kept for the heads it moves (gold: one)
_NAMES = {
    "#run": "run_id",
    "#version": "version",
    "#owner": "owner",
    "#expires": "expires_at",
    "#status": "status",
    "#lease_owner": "lease_owner",
    "#lease_expires": "lease_expires_at",
    "#lease_until": "lease_until",
    "#attempts": "attempts",
    "#last_error": "last_error",
    "#next_at": "next_at",
}


def _names(*used: str) -> dict[str, str]:
    return {n: _NAMES[n] for n in used}


class DynamoRunLog:
    """RunLog and Outbox on the DynamoDB table `table` (created, on-demand, when missing)."""

    def __init__(self, table: str, target: AwsTarget) -> None:
        self.table = DynamoTable(table, target)
        self.table.ensure()

    # -- runs ---------------------------------------------------------------------------------

    def claim(self, run: RunRecord) -> RunRecord | None:
        claimed = items.bounded(bounded(run).model_copy(update={"version": 1}))
        registry = items.claim_key(run.dataset, run.file, run.file_hash)
        if run.replaces:  # move the file's registration from the run it replaces
            take: dict[str, Any] = {
                "Update": {
                    "Key": registry,
                    "UpdateExpression": "SET #run = :new",
                    "ConditionExpression": "#run = :old",
                    "ExpressionAttributeNames": _names("#run"),
                    "ExpressionAttributeValues": {":new": run.run_id, ":old": run.replaces},
                }
            }
        else:
            take = {
                "Put": {"Item": {**registry, "run_id": run.run_id}, "ConditionExpression": _NEW}
            }
        reasons = self.table.transact(
            [
                take,
                {"Put": {"Item": items.run_item(claimed), "ConditionExpression": _NEW}},
                {"Put": {"Item": items.id_key(run.run_id)}},
                {"Put": {"Item": {**items.path_run_key(claimed), "run_id": run.run_id}}},
                *self._indexes(claimed),
            ]
        )
        if reasons is None:
            return claimed
        if set(reasons) <= {"None", "ConditionalCheckFailed"}:
            return None  # the file is claimed already (or the run id is taken)
        raise self._cancelled(f"claiming {run.file} for run {run.run_id}", reasons)

    def claimed_by(self, dataset: str, file: str, file_hash: str) -> RunRecord | None:
        found = self.table.get(items.claim_key(dataset, file, file_hash))
        return self._run(found["run_id"]) if found else None

    def last_runs(self, dataset: str, files: Collection[str]) -> dict[str, RunRecord]:
        """A Query per path: the newest run is the first item of the path's partition, and no
        one read returns the first item of many partitions."""
        found = {file: self.last_run(dataset, file) for file in files}
        return {file: run for file, run in found.items() if run is not None}

    def last_run(self, dataset: str, file: str) -> RunRecord | None:
        newest = self.table.query(items.file_pk(dataset, file), "RUN#", newest_first=True, page=1)
        found = next(newest, None)
        return self._run(found["run_id"]) if found else None

    def update(
        self,
        run: RunRecord,
        heads: Mapping[str, str] | None = None,
        alerts: Sequence[Alert] = (),
    ) -> RunRecord:
        (new,) = self.update_many([run], heads, alerts)
        return new

    def update_many(
        self,
        runs: Sequence[RunRecord],
        heads: Mapping[str, str] | None = None,
        alerts: Sequence[Alert] = (),
    ) -> builtins.list[RunRecord]:
        """`update` of several runs of one pipeline in ONE TransactWriteItems: all, or none (a
        batch's commit, medalist/batching.py). At most `batch_capacity` runs: DynamoDB takes 100
        actions and 4 MB a transaction; the runs share the 4 MB (a long history is shortened
        to its share, as `bounded` does at 400 KB)."""
        queued = {a.key: a for a in reversed(alerts)}  # the first of a key wins, as in SQLite
        shared: builtins.list[dict[str, Any]] = [
            *(
                {"Put": {"Item": {"pk": items.heads_pk(runs[0].pipeline), "sk": k, "version": v}}}
                for k, v in (heads or {}).items()
            ),
            *({"Put": {"Item": items.alert_item(a)}} for a in queued.values()),
        ]
        room = items.TRANSACTION_BUDGET - items.item_size(shared)
        budget = min(items.ITEM_BUDGET, room // max(1, len(runs)) - 2_000)  # 2 KB: its entries
        stored = [
            items.bounded(bounded(r).model_copy(update={"version": r.version + 1}), budget)
            for r in runs
        ]
        actions: builtins.list[dict[str, Any]] = []
        for run, new in zip(runs, stored, strict=True):
            actions += [
                {
                    "Put": {
                        "Item": items.run_item(new),
                        "ConditionExpression": "#version = :version",
                        "ExpressionAttributeNames": _names("#version"),
                        "ExpressionAttributeValues": {":version": run.version},
                    }
                },
                *self._indexes(new),
            ]
        actions += shared
        self._fits(actions)
        for new in stored:  # before the record that names them (dynamo_items)
            for part in items.member_items(new):
                self.table.put(part)
        reasons = self.table.transact(actions)
        if reasons is None:
            return stored
        per_run = items.ACTIONS_PER_RUN
        stale = [
            run.run_id
            for n, run in enumerate(runs)
            if reasons[n * per_run] == "ConditionalCheckFailed"
        ]
        if stale:
            versions = ", ".join(f"{r.run_id} (version {r.version})" for r in runs[:3])
            raise ConcurrentUpdate(f"run {stale[0]} changed since it was read: {versions}")
        raise self._cancelled(f"updating run {runs[0].run_id} and {len(runs) - 1} more", reasons)

    def batch_capacity(self, alerts_per_run: int) -> int:
        """How many runs one `update_many` commits when each also queues `alerts_per_run`
        alerts: 100 actions a transaction, less room for heads (the batch collector caps
        batch.max_files with it, medalist/batching.py)."""
        room = items.MAX_ACTIONS - HEADS_ROOM
        return max(1, room // (items.ACTIONS_PER_RUN + alerts_per_run))

    def _fits(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """Refuse, before writing anything, a transaction DynamoDB would refuse."""
        size = items.item_size(list(actions))
        if len(actions) <= items.MAX_ACTIONS and size <= items.TRANSACTION_BUDGET:
            return
        raise TerminalError(
            f"{self.table.resource}: one commit of {len(actions)} writes and ≈ {size:,} bytes "
            f"passes DynamoDB's {items.MAX_ACTIONS} writes or 4 MB per transaction",
            fix="Batches are capped by batch_capacity(); lower batch.max_files in pipeline.yaml.",
        )

    def _indexes(self, run: RunRecord) -> list[dict[str, Any]]:
        """The dataset's entry for the run, and its entry among RUNNING runs (or its removal),
        written in the same transaction as the run itself."""
        running: dict[str, Any] = (
            {"Put": {"Item": items.running_item(run)}}
            if run.status == Status.RUNNING
            else {"Delete": {"Key": items.running_key(run)}}
        )
        return [{"Put": {"Item": items.dataset_item(run)}}, running]

    def renew(self, run_id: str, owner: str, until: datetime) -> bool:
        return self.table.update(
            items.run_key(run_id),
            "SET #lease_expires = :until",
            "#lease_owner = :owner AND #status = :running",
            names=_names("#lease_expires", "#lease_owner", "#status"),
            values={":until": items.stamp(until), ":owner": owner, ":running": "RUNNING"},
        )

    def heads(self, pipeline: str) -> dict[str, str]:
        return {i["sk"]: i["version"] for i in self.table.query(items.heads_pk(pipeline))}

    def live_runs(self, dataset: str) -> set[str]:
        entries = builtins.list(self._dataset_entries(dataset))
        committed = [e for e in entries if e["committed"]]
        superseded = {e["replaces"] for e in committed if e.get("replaces")}
        live = {e["run_id"] for e in committed} - superseded
        return live - self._absorbed(committed)

    def replaced_runs(self, dataset: str) -> set[str]:
        entries = builtins.list(self._dataset_entries(dataset))
        replaced = {e["replaces"] for e in entries if e.get("replaces")}
        # what a compaction absorbed is swept like what a replay replaced
        return replaced | self._absorbed([e for e in entries if e["committed"]])

    def compacted_runs(self, dataset: str) -> set[str]:
        """Runs (and earlier compactions) whose silver a committed compaction holds now
        (medalist/compaction.py): its members, read from their parts."""
        return self._absorbed([e for e in self._dataset_entries(dataset) if e["committed"]])

    def _absorbed(self, committed: Iterable[Mapping[str, Any]]) -> set[str]:
        keys = [k for e in committed for k in items.member_keys(e)]
        return {m for part in self.table.batch_get(keys) for m in part["members"].split()}

    def _dataset_entries(
        self, dataset: str, newest_first: bool = False
    ) -> Iterator[dict[str, Any]]:
        return self.table.query(items.dataset_pk(dataset), "RUN#", newest_first=newest_first)

    # -- locks --------------------------------------------------------------------------------

    def lock(self, name: str, owner: str, until: datetime, *, replacing: str | None = None) -> bool:
        condition = f"{_NEW} OR #owner = :owner OR #expires < :now"
        values = {":owner": owner, ":now": items.stamp(now())}
        if replacing is not None:
            condition += " OR #owner = :replacing"
            values[":replacing"] = replacing
        item = {
            **items.lock_key(name),
            "owner": owner,
            "expires_at": items.stamp(until),
            # DynamoDB's TTL deletes a lock a day after it lapsed (an expired lock is free)
            TTL_ATTRIBUTE: int(until.timestamp()) + 86400,
        }
        return self.table.put(item, condition, names=_names("#owner", "#expires"), values=values)

    def lock_holder(self, name: str) -> tuple[str, datetime] | None:
        found = self.table.get(items.lock_key(name))
        return (found["owner"], datetime.fromisoformat(found["expires_at"])) if found else None

    def unlock(self, name: str, owner: str) -> None:
        self.table.delete(
            items.lock_key(name),
            "#owner = :owner",
            names=_names("#owner"),
            values={":owner": owner},
        )

    # -- the outbox ---------------------------------------------------------------------------

    def due_alerts(self, at: datetime, limit: int = 100) -> list[Alert]:
        due = [a for a in self.undelivered() if (a.next_at or a.created_at) <= at]
        return due[:limit]

    def take_alert(self, key: str, owner: str, until: datetime) -> bool:
        return self.table.update(
            items.alert_key(key),
            "SET #lease_owner = :owner, #lease_until = :until",
            "attribute_exists(pk) AND (attribute_not_exists(#lease_until) OR #lease_until < :now)",
            names=_names("#lease_owner", "#lease_until"),
            values={
                ":owner": owner,
                ":until": items.stamp(until),
                ":now": items.stamp(now()),
            },
        )

    def alert_sent(self, key: str, at: datetime) -> None:
        """Move the alert out of the pending partition, into its own item for the record."""
        found = self.table.get(items.alert_key(key))
        if found is None:
            return  # delivered and moved already
        for dropped in ("lease_owner", "lease_until", "last_error"):
            found.pop(dropped, None)
        sent = {
            **found,
            **items.sent_key(key),
            "attempts": int(found.get("attempts", 0)) + 1,
            "delivered_at": items.stamp(at),
        }
        self.table.transact(
            [
                {
                    "Delete": {
                        "Key": items.alert_key(key),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {"Put": {"Item": sent}},
            ]
        )

    def alert_failed(self, key: str, error: str, next_at: datetime) -> None:
        self.table.update(
            items.alert_key(key),
            "SET #attempts = #attempts + :one, #last_error = :error, #next_at = :next "
            "REMOVE #lease_owner, #lease_until",
            "attribute_exists(pk)",
            names=_names("#attempts", "#last_error", "#next_at", "#lease_owner", "#lease_until"),
            values={":one": 1, ":error": error, ":next": items.stamp(next_at)},
        )

    def undelivered(self) -> list[Alert]:
        pending = [items.alert_from_item(i) for i in self.table.query(items.OUTBOX)]
        return sorted(pending, key=lambda a: (a.created_at, a.key))

    def _cancelled(self, what: str, reasons: Sequence[str]) -> TerminalError:
        return TerminalError(
            f"{self.table.resource}: {what} was refused ({', '.join(reasons)})",
            fix="The reasons are DynamoDB's TransactWriteItems cancellation reasons.",
        )

    # -- reading runs -------------------------------------------------------------------------

    def get(self, run_id: str) -> RunRecord:
        """By id or unique prefix: a begins_with Query on the RUNIDS partition (2 items at most),
        then the run's own item. Run ids are ULIDs, upper case; a prefix is upper-cased."""
        found = list(islice(self.table.query(items.RUNIDS, run_id.upper(), page=2), 2))
        if len(found) != 1:
            why = "no run" if not found else "more than one run"
            raise NotFound(f"{why} has an id starting with {run_id!r}", fix="See `medalist runs`.")
        return self._run(found[0]["sk"])

    def _run(self, run_id: str) -> RunRecord:
        found = self.table.get(items.run_key(run_id))
        if found is None:
            raise NotFound(f"no run {run_id} in {self.table.resource}", fix="See `medalist runs`.")
        (run,) = self._records([found])
        return run

    def list(
        self, *, dataset: str | None = None, status: Status | None = None, limit: int | None = 50
    ) -> list[RunRecord]:
        if dataset is not None:  # the dataset's partition: consistent, newest first
            entries = self._dataset_entries(dataset, newest_first=True)
            wanted = (e["run_id"] for e in entries if status is None or e["status"] == status)
            return self._runs(islice(wanted, limit))
        if status == Status.RUNNING:
            return self._running(limit)
        if status is not None:
            return self._finished(status, limit)
        merged = heapq.merge(
            self._running(limit),
            self._finished(Status.SUCCEEDED, limit),
            self._finished(Status.FAILED, limit),
            key=items.started_key,
            reverse=True,
        )
        return _unique(merged, limit)

    def _running(self, limit: int | None) -> builtins.list[RunRecord]:
        """RUNNING runs, from their base-table partition: what sweeps keep must be current."""
        entries = self.table.query(items.RUNNING, newest_first=True, page=limit or 0)
        return self._runs(islice((e["run_id"] for e in entries), limit))

    def _finished(self, status: Status, limit: int | None) -> builtins.list[RunRecord]:
        """SUCCEEDED or FAILED runs from the status GSI (eventually consistent: for display)."""
        found = self.table.query_index(str(status), page=limit or 0)
        return self._records(islice(found, limit))

    def _runs(self, run_ids: Iterable[str]) -> builtins.list[RunRecord]:
        """The runs of `run_ids`, in that order, read consistently."""
        order = list(run_ids)
        found = {i["run_id"]: i for i in self.table.batch_get([items.run_key(r) for r in order])}
        return self._records(found[r] for r in order if r in found)

    def _records(self, found: Iterable[Mapping[str, Any]]) -> builtins.list[RunRecord]:
        """Run items as records, with the members of compactions read from their parts."""
        run_items = builtins.list(found)
        keys = [k for i in run_items for k in items.member_keys(i)]
        parts = {(p["pk"], p["sk"]): p for p in self.table.batch_get(keys)} if keys else {}
        return [items.run_from_item(i, parts) for i in run_items]


def _unique(runs: Iterable[RunRecord], limit: int | None) -> list[RunRecord]:
    """Runs without repeats (a run finishing while listed can show twice), at most `limit`."""
    seen: set[str] = set()
    out: list[RunRecord] = []
    for run in runs:
        if run.run_id not in seen and (limit is None or len(out) < limit):
            seen.add(run.run_id)
            out.append(run)
    return out
