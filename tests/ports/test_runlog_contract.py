"""The RunLog and Outbox ports' behaviour, written once and run against every adapter: the
SQLite metastore and DynamoDB (on the session's moto server, one table per test)."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from medalist.errors import NotFound, TerminalError
from medalist.metastore import now
from medalist.notify.outbox import deliver_due
from medalist.runlog import (
    HISTORY_FIRST,
    HISTORY_LAST,
    Alert,
    ConcurrentUpdate,
    RunRecord,
    Status,
    Transition,
)
from tests.aws.emulator import unique
from tests.ports.runlogs import ADAPTERS, T0, Spec, claim_files, record

HOUR = timedelta(hours=1)
PROCESSES = 20


@pytest.fixture(params=ADAPTERS, ids=ADAPTERS)
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Spec:
    if request.param == "sqlite":
        return Spec("sqlite", str(tmp_path / "lake"))
    return Spec("dynamodb", unique("runlog"), request.getfixturevalue("aws_endpoint"))


@pytest.fixture
def runlog(spec: Spec) -> Any:
    return spec.open()


def committed(runlog: Any, run: RunRecord, **fields: Any) -> RunRecord:
    """The run after its Transform committed (its silver rows are what readers see)."""
    outputs = {**run.outputs, "Transform": {"rows_silver": 3}}
    return runlog.update(run.model_copy(update={"outputs": outputs, **fields}))


# -- claims -----------------------------------------------------------------------------------


def test_a_file_content_is_claimed_once_and_the_registry_names_its_run(runlog):
    first = runlog.claim(record(file_hash="h1"))
    assert first is not None and first.version == 1

    assert runlog.claim(record(file_hash="h1")) is None
    assert runlog.claimed_by("orders", "orders/a.csv", "h1") == first
    assert runlog.claimed_by("orders", "orders/a.csv", "h2") is None
    assert runlog.claimed_by("customers", "orders/a.csv", "h1") is None
    assert [r.run_id for r in runlog.list(limit=None)] == [first.run_id]


def test_new_content_at_the_same_path_is_a_new_run_and_the_last_run_of_the_path(runlog):
    first = runlog.claim(record(file_hash="h1"))
    second = runlog.claim(record(file_hash="h2", started_at=T0 + HOUR))
    other = runlog.claim(record(file="orders/b.csv", started_at=T0 + 2 * HOUR))

    assert second is not None and other is not None
    assert runlog.last_run("orders", "orders/a.csv") == second
    assert runlog.last_run("orders", "orders/b.csv") == other
    assert runlog.last_run("orders", "orders/zzz.csv") is None
    assert runlog.claimed_by("orders", "orders/a.csv", "h1") == first
    # the quick check of a whole listing reads the same, the paths asked for only
    listing = ["orders/a.csv", "orders/b.csv", "orders/zzz.csv"]
    assert runlog.last_runs("orders", listing) == {"orders/a.csv": second, "orders/b.csv": other}
    assert runlog.last_runs("orders", ["orders/b.csv"]) == {"orders/b.csv": other}
    assert runlog.last_runs("customers", listing) == {}


def test_every_field_reads_back_as_written(runlog):
    run = record(
        file_mtime=1764000000.123456,
        rule_counts={"quantity.min": 2},
        history=[Transition(state="Crawl", status=Status.RUNNING, at=T0, detail="é ✓")],
        outputs={"Crawl": {"seconds": 0.25, "columns": ["a", "b"], "nested": {"x": None}}},
    )
    claimed = runlog.claim(run)
    failed = claimed.model_copy(
        update={
            "status": Status.FAILED,
            "state": "Transform",
            "ended_at": T0 + timedelta(seconds=90),
            "duration_s": 90.5,
            "rows_in": 10,
            "rows_silver": 7,
            "rows_quarantined": 3,
            "rows_loaded": 0,
            "error": {"state": "Transform", "kind": "terminal", "message": "bad", "row": 12},
            "lease_owner": None,
            "lease_expires_at": None,
        }
    )
    stored = runlog.update(failed)

    assert runlog.get(run.run_id) == stored == failed.model_copy(update={"version": 2})
    assert runlog.get(run.run_id).outputs["Crawl"]["seconds"] == 0.25


def race(n: int, attempt: Any) -> list[Any]:
    """Run `attempt` in n threads released at once; the results that are not None/False."""
    start, results = threading.Barrier(n), []

    def one() -> None:
        start.wait()
        results.append(attempt())

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r]


def test_threads_racing_for_one_file_make_one_run(runlog):
    won = race(8, lambda: runlog.claim(record()))

    assert len(won) == 1
    assert runlog.claimed_by("orders", "orders/a.csv", "h1") == won[0]


def test_threads_updating_one_version_leave_one_winner(runlog):
    run = runlog.claim(record())

    def take_over() -> RunRecord | None:
        mine = f"host:{threading.get_ident()}:t"
        try:
            return runlog.update(run.model_copy(update={"lease_owner": mine}))
        except ConcurrentUpdate:
            return None

    (winner,) = race(8, take_over)
    assert runlog.get(run.run_id) == winner and winner.version == 2


def test_threads_racing_for_a_lock_leave_one_holder(runlog):
    owners = race(
        8,
        lambda: (
            runlog.lock("pipeline:shop", f"h:{threading.get_ident()}:x", now() + HOUR)
            and threading.get_ident()
        ),
    )
    assert len(owners) == 1
    assert runlog.lock_holder("pipeline:shop")[0] == f"h:{owners[0]}:x"


def test_twenty_processes_claiming_ten_files_at_once_make_ten_runs(spec):
    """The issue's race at the run-log level: 20 OS processes, each its own adapter (its own
    connection or boto3 client), all claiming the same 10 files at the same moment."""
    spec.open()  # the store (and the DynamoDB table) exists before the race starts
    files = [f"orders/2026-11-{d:02d}.csv" for d in range(1, 11)]
    ctx = multiprocessing.get_context("forkserver")  # fresh processes, imports paid once
    ctx.set_forkserver_preload(["tests.ports.runlogs"])
    start, queue = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [
        ctx.Process(target=claim_files, args=(spec, files, start, queue, seed))
        for seed in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    assert not [r for r in results if isinstance(r, str)]  # no process failed
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0

    wins = [w for won in results for w in won]
    assert Counter(file for file, _ in wins) == dict.fromkeys(files, 1)
    runlog = spec.open()
    runs = runlog.list(limit=None)
    assert sorted(r.file for r in runs) == files
    for file, run_id in wins:
        assert runlog.claimed_by("orders", file, f"hash-of-{file}").run_id == run_id


# -- conditional updates, heads and leases ----------------------------------------------------


def test_an_update_from_a_stale_version_is_rejected_and_changes_nothing(runlog):
    run = runlog.claim(record())
    moved = runlog.update(run.model_copy(update={"state": "Crawl"}))
    assert moved.version == 2

    with pytest.raises(ConcurrentUpdate):
        runlog.update(run.model_copy(update={"state": "Transform"}), heads={"gold": "x"})
    with pytest.raises(ConcurrentUpdate):
        runlog.update(record(run_id=str(ULID())))  # never claimed

    assert runlog.get(run.run_id) == moved
    assert runlog.heads("shop") == {}


def test_heads_move_in_the_same_update_as_the_state_that_wrote_them(runlog):
    run = runlog.claim(record())
    assert runlog.heads("shop") == {}

    done = runlog.update(run.model_copy(update={"state": "Load"}), heads={"gold": run.run_id})
    assert runlog.heads("shop") == {"gold": run.run_id}
    assert runlog.heads("other") == {}

    runlog.update(done, heads={"gold": "later", "marts": "v2"})
    assert runlog.heads("shop") == {"gold": "later", "marts": "v2"}


def test_only_the_owner_renews_a_running_runs_lease(runlog):
    run = runlog.claim(record())
    until = now() + HOUR

    assert runlog.renew(run.run_id, "host:1:a", until)
    assert not runlog.renew(run.run_id, "thief:2:b", until)
    assert not runlog.renew("01NOSUCHRUN0000000000000000", "host:1:a", until)
    renewed = runlog.get(run.run_id)
    assert abs(renewed.lease_expires_at - until) < timedelta(milliseconds=1)
    assert renewed.version == run.version  # a renewal is not a change of the record

    runlog.update(renewed.model_copy(update={"status": Status.SUCCEEDED}))
    assert not runlog.renew(run.run_id, "host:1:a", until)


def test_a_lock_is_exclusive_until_it_expires_or_its_gone_holder_is_replaced(runlog):
    later = now() + HOUR
    assert runlog.lock_holder("pipeline:shop") is None
    assert runlog.lock("pipeline:shop", "a:1:x", later)
    assert not runlog.lock("pipeline:shop", "b:2:y", later)
    assert runlog.lock("pipeline:shop", "a:1:x", later + HOUR)  # renewed by its holder
    owner, until = runlog.lock_holder("pipeline:shop")
    assert owner == "a:1:x" and abs(until - (later + HOUR)) < timedelta(milliseconds=1)

    assert not runlog.lock("pipeline:shop", "b:2:y", later, replacing="c:3:z")
    assert runlog.lock("pipeline:shop", "b:2:y", later, replacing="a:1:x")  # a found gone
    assert runlog.lock_holder("pipeline:shop")[0] == "b:2:y"

    runlog.unlock("pipeline:shop", "a:1:x")  # not the holder any more: nothing happens
    assert runlog.lock_holder("pipeline:shop")[0] == "b:2:y"
    runlog.unlock("pipeline:shop", "b:2:y")
    assert runlog.lock_holder("pipeline:shop") is None


def test_an_expired_lock_is_taken_by_the_next_caller(runlog):
    assert runlog.lock("pipeline:shop", "a:1:x", now() - timedelta(seconds=1))
    assert runlog.lock("pipeline:shop", "b:2:y", now() + HOUR)
    assert not runlog.lock("pipeline:shop", "a:1:x", now() + HOUR, replacing="c:3:z")
    assert runlog.lock("other", "a:1:x", now() + HOUR)  # locks are independent


# -- live and replaced runs -------------------------------------------------------------------


def test_live_runs_are_committed_ones_until_a_committed_replay_replaces_them(runlog):
    a = committed(runlog, runlog.claim(record(file="orders/a.csv")))
    b = runlog.claim(record(file="orders/b.csv"))  # Transform not committed yet
    runlog.claim(record(dataset="customers", file="customers/c.csv"))
    assert runlog.live_runs("orders") == {a.run_id}
    assert runlog.replaced_runs("orders") == set()

    replay = runlog.claim(record(file="orders/a.csv", replaces=a.run_id, started_at=T0 + HOUR))
    assert replay is not None
    assert runlog.claimed_by("orders", "orders/a.csv", "h1") == replay
    assert runlog.replaced_runs("orders") == {a.run_id}
    assert runlog.live_runs("orders") == {a.run_id}  # the replay has not committed yet

    committed(runlog, replay)
    committed(runlog, b)
    assert runlog.live_runs("orders") == {replay.run_id, b.run_id}
    assert runlog.live_runs("customers") == set()


def test_a_replay_of_a_run_that_no_longer_holds_the_file_is_refused(runlog):
    a = runlog.claim(record())
    first = runlog.claim(record(replaces=a.run_id, started_at=T0 + HOUR))
    assert first is not None
    assert runlog.claim(record(replaces=a.run_id, started_at=T0 + 2 * HOUR)) is None
    assert runlog.claimed_by("orders", "orders/a.csv", "h1") == first
    assert len(runlog.list(limit=None)) == 2


# -- batches (decision 0028) ------------------------------------------------------------------


def test_a_batch_commits_every_run_its_heads_and_alerts_together_or_nothing(runlog):
    runs = [runlog.claim(record(file=f"orders/{n}.csv")) for n in range(3)]
    done = runlog.update_many(
        [r.model_copy(update={"state": "Transform"}) for r in runs],
        heads={"gold": runs[-1].run_id},
        alerts=[alert(r, "hook") for r in runs],
    )
    assert [r.version for r in done] == [2, 2, 2]
    assert [runlog.get(r.run_id) for r in runs] == done
    assert runlog.heads("shop") == {"gold": runs[-1].run_id}
    assert len(runlog.undelivered()) == 3

    # One run of the batch was taken over meanwhile: nothing of the batch is written.
    taken = runlog.update(done[1].model_copy(update={"lease_owner": "host:2:b"}))
    with pytest.raises(ConcurrentUpdate):
        runlog.update_many(
            [r.model_copy(update={"state": "Load"}) for r in done],
            heads={"gold": "later"},
            alerts=[alert(r, "mail") for r in done],
        )
    assert [runlog.get(r.run_id) for r in runs] == [done[0], taken, done[2]]
    assert runlog.heads("shop") == {"gold": runs[-1].run_id}
    assert len(runlog.undelivered()) == 3


def test_a_batch_as_big_as_the_run_log_commits_at_once_is_one_transaction(runlog):
    """What the batch collector trusts: batch_capacity(alerts a run) runs, each with that many
    alerts, plus the gold head, commit in one update_many. A run log with a bound (DynamoDB:
    100 writes a transaction) refuses one more run before writing anything."""
    capacity = runlog.batch_capacity(2)
    size = min(capacity, 40)  # SQLite sets no bound: 40 stands for "many"
    runs = [runlog.claim(record(file=f"orders/{n}.csv")) for n in range(size + 1)]
    alerts = [alert(r, c) for r in runs for c in ("hook", "mail")]
    done = runlog.update_many(
        [r.model_copy(update={"status": Status.SUCCEEDED}) for r in runs[:size]],
        heads={"gold": "g1"},
        alerts=alerts[: 2 * size],
    )
    assert {r.version for r in done} == {2} and len(done) == size
    assert runlog.list(status=Status.RUNNING, limit=None) == [runs[size]]
    assert len(runlog.undelivered()) == 2 * size
    if capacity < 1000:
        more = [runlog.get(r.run_id) for r in runs]
        with pytest.raises(TerminalError, match="per transaction"):
            runlog.update_many(
                more,
                heads={"gold": "g2"},
                alerts=[alert(r, c) for r in more for c in ("hook", "mail")],
            )
        assert [runlog.get(r.run_id).version for r in runs] == [r.version for r in more]
        assert runlog.heads("shop") == {"gold": "g1"}


# -- compaction (decision 0029) -----------------------------------------------------------------


def compaction(runlog: Any, members: list[str], started_at: Any = T0 + HOUR) -> RunRecord:
    """A compaction of `members`, committed (its record names them in outputs.Compact)."""
    run_id = str(ULID())
    file, file_hash = "_compaction/orders/2026-11", f"compaction:{run_id}"
    run = runlog.claim(record(run_id=run_id, file=file, file_hash=file_hash, started_at=started_at))
    compact = {"members": members, "period": "2026-11", "rows": 3}
    return runlog.update(run.model_copy(update={"outputs": {"Compact": compact}}))


def test_a_committed_compaction_is_live_and_its_members_are_not(runlog):
    a, b, c = (committed(runlog, runlog.claim(record(file=f"orders/{n}.csv"))) for n in "abc")
    pending = runlog.claim(
        record(file="_compaction/orders/2026-11", file_hash="pending", started_at=T0 + HOUR)
    )
    assert runlog.compacted_runs("orders") == set()  # not committed: nothing absorbed
    assert runlog.live_runs("orders") == {a.run_id, b.run_id, c.run_id}

    done = compaction(runlog, [a.run_id, b.run_id], T0 + 2 * HOUR)
    assert runlog.compacted_runs("orders") == {a.run_id, b.run_id}
    assert runlog.live_runs("orders") == {done.run_id, c.run_id}
    assert runlog.replaced_runs("orders") == {a.run_id, b.run_id}  # their files are swept
    assert runlog.get(done.run_id) == done
    assert runlog.get(pending.run_id).outputs == {}

    again = compaction(runlog, [done.run_id, c.run_id], T0 + 3 * HOUR)  # absorbs the first
    assert runlog.live_runs("orders") == {again.run_id}
    assert runlog.compacted_runs("orders") == {a.run_id, b.run_id, c.run_id, done.run_id}
    assert runlog.compacted_runs("customers") == set()


def test_a_compactions_members_are_never_cut_short_and_a_losing_writer_changes_nothing(runlog):
    """A month of hourly files from a thousand stores is 720,000 runs: far past a DynamoDB
    item's 400 KB as a list of ids. Every member reads back, and a writer that lost the race
    for the record (its version is stale) leaves the winner's members as they were."""
    members = [str(ULID()) for _ in range(20_000)]  # ≈ 560 KB of ids
    run = runlog.claim(record(file="_compaction/orders/2026-11", started_at=T0 + HOUR))
    outputs = {"Compact": {"members": members, "period": "2026-11", "rows": 0}}
    won = runlog.update(run.model_copy(update={"outputs": outputs}))
    lost = {"Compact": {"members": members[:5], "period": "2026-11", "rows": 0}}
    with pytest.raises(ConcurrentUpdate):
        runlog.update(run.model_copy(update={"outputs": lost}))

    assert runlog.get(run.run_id).outputs["Compact"]["members"] == members
    assert runlog.list(dataset="orders", limit=None) == [won]
    assert runlog.compacted_runs("orders") == set(members)
    ended = runlog.update(won.model_copy(update={"status": Status.SUCCEEDED}))
    assert runlog.list(status=Status.SUCCEEDED, limit=None) == [ended]


# -- reading runs -----------------------------------------------------------------------------


def test_runs_list_newest_first_by_dataset_status_and_limit(runlog):
    made = []
    for i, (dataset, status) in enumerate(
        [
            ("orders", Status.SUCCEEDED),
            ("customers", Status.FAILED),
            ("orders", Status.RUNNING),
            ("orders", Status.FAILED),
            ("customers", Status.RUNNING),
        ]
    ):
        run = runlog.claim(
            record(dataset=dataset, file=f"{dataset}/{i}.csv", started_at=T0 + i * HOUR)
        )
        if status != Status.RUNNING:
            run = runlog.update(run.model_copy(update={"status": status}))
        made.append(run)
    ids = [r.run_id for r in made]

    def listed(**kw: Any) -> list[str]:
        return [r.run_id for r in runlog.list(**kw)]

    assert listed() == ids[::-1]
    assert listed(limit=2) == [ids[4], ids[3]]
    assert listed(limit=None) == ids[::-1]
    assert listed(dataset="orders") == [ids[3], ids[2], ids[0]]
    assert listed(dataset="orders", limit=1) == [ids[3]]
    assert listed(status=Status.RUNNING) == [ids[4], ids[2]]
    assert listed(status=Status.FAILED) == [ids[3], ids[1]]
    assert listed(status=Status.SUCCEEDED, limit=None) == [ids[0]]
    assert listed(dataset="customers", status=Status.RUNNING) == [ids[4]]
    assert listed(dataset="nothing") == []
    assert runlog.list(dataset="orders")[0] == made[3]


def test_runs_started_in_the_same_millisecond_list_by_id(runlog):
    ids = sorted(str(ULID()) for _ in range(3))
    for i, run_id in enumerate(ids):
        runlog.claim(record(run_id=run_id, file=f"orders/{i}.csv"))
    assert [r.run_id for r in runlog.list()] == ids[::-1]
    assert [r.run_id for r in runlog.list(dataset="orders")] == ids[::-1]
    assert [r.run_id for r in runlog.list(status=Status.RUNNING)] == ids[::-1]


def test_a_run_is_found_by_its_id_or_a_unique_prefix(runlog):
    a = runlog.claim(record(run_id="01KB000000AAAAAAAAAAAAAAAA", file="orders/a.csv"))
    b = runlog.claim(record(run_id="01KB000000BBBBBBBBBBBBBBBB", file="orders/b.csv"))

    assert runlog.get(a.run_id) == a
    assert runlog.get("01KB000000B") == b
    assert runlog.get("01kb000000a") == a  # ids are upper case; a typed prefix need not be
    with pytest.raises(NotFound, match="more than one run has an id starting with '01KB'"):
        runlog.get("01KB")
    with pytest.raises(NotFound, match="no run has an id starting with '01KC'"):
        runlog.get("01KC")


# -- the outbox -------------------------------------------------------------------------------


def alert(run: RunRecord, channel: str, created: Any = T0) -> Alert:
    key = f"{run.run_id}:{run.version + 1}:{channel}"
    return Alert(key, "shop", channel, run.run_id, {"status": "FAILED", "n": 1.5}, created)


def test_alerts_enter_the_outbox_only_with_the_update_that_wrote_them(runlog):
    run = runlog.claim(record())
    hook, mail = alert(run, "hook"), alert(run, "mail", T0 + timedelta(seconds=1))

    with pytest.raises(ConcurrentUpdate):
        runlog.update(run.model_copy(update={"version": 7}), alerts=[hook])
    assert runlog.undelivered() == []

    runlog.update(run.model_copy(update={"status": Status.FAILED}), alerts=[mail, hook])
    pending = runlog.undelivered()
    assert [a.key for a in pending] == [hook.key, mail.key]  # oldest first
    assert pending[0].message == {"status": "FAILED", "n": 1.5}
    assert pending[0].created_at == T0 and pending[0].attempts == 0
    assert [a.key for a in runlog.due_alerts(now())] == [hook.key, mail.key]
    assert [a.key for a in runlog.due_alerts(now(), limit=1)] == [hook.key]
    assert runlog.due_alerts(T0 - timedelta(seconds=1)) == []


def test_an_alert_is_leased_to_one_sender_and_stays_until_delivered(runlog):
    run = runlog.claim(record())
    hook, mail = alert(run, "hook"), alert(run, "mail")
    runlog.update(run, alerts=[hook, mail])

    assert runlog.take_alert(hook.key, "sender-1", now() + HOUR)
    assert not runlog.take_alert(hook.key, "sender-2", now() + HOUR)  # leased
    assert not runlog.take_alert("no-such-alert", "sender-2", now() + HOUR)

    runlog.alert_failed(hook.key, "ConnectionError: refused", now() + HOUR)
    failed = next(a for a in runlog.undelivered() if a.key == hook.key)
    assert failed.attempts == 1 and failed.last_error == "ConnectionError: refused"
    assert [a.key for a in runlog.due_alerts(now())] == [mail.key]  # hook waits for its retry
    assert [a.key for a in runlog.due_alerts(now() + 2 * HOUR)] == [hook.key, mail.key]
    assert runlog.take_alert(hook.key, "sender-2", now() + HOUR)  # a failure frees the lease

    runlog.alert_sent(hook.key, now())
    assert [a.key for a in runlog.undelivered()] == [mail.key]
    assert not runlog.take_alert(hook.key, "sender-3", now() + HOUR)  # delivered: never again


def test_an_alert_whose_sender_died_is_sent_by_the_next_once_its_lease_ends(runlog):
    """At least once: a sender that took an alert and vanished does not lose it."""
    run = runlog.claim(record())
    hook = alert(run, "hook")
    runlog.update(run, alerts=[hook])

    assert runlog.take_alert(hook.key, "dead-sender", now() - timedelta(seconds=1))
    assert [a.key for a in runlog.due_alerts(now())] == [hook.key]
    assert runlog.take_alert(hook.key, "next-sender", now() + HOUR)
    runlog.alert_sent(hook.key, now())
    assert runlog.undelivered() == []


class Channel:
    """A real (in-process) channel that refuses the first `down` sends."""

    def __init__(self, down: int) -> None:
        self.down, self.received = down, []

    def send(self, message: dict[str, Any]) -> None:
        if self.down:
            self.down -= 1
            raise ConnectionError("channel down")
        self.received.append(message)


def test_an_alert_reaches_a_channel_that_was_down_once_it_is_back(runlog):
    run = runlog.claim(record())
    runlog.update(run, alerts=[alert(run, "hook")])
    hook = Channel(down=2)

    assert deliver_due(runlog, {"hook": hook}).failed
    assert deliver_due(runlog, {"hook": hook}).sent == []  # backing off: not due yet
    assert deliver_due(runlog, {"hook": hook}, force=True).failed
    assert deliver_due(runlog, {"hook": hook}, force=True).sent == [alert(run, "hook").key]
    assert deliver_due(runlog, {"hook": hook}, force=True).sent == []
    assert hook.received == [{"status": "FAILED", "n": 1.5}]


def test_history_keeps_the_first_and_last_transitions_and_counts_the_rest(runlog):
    """The port's bound (runlog.bounded), the same in every adapter: a run retried hundreds of
    times fits a DynamoDB item and still shows how it began and how it ended."""
    claimed = runlog.claim(record())
    steps = [
        Transition(state="Load", status=Status.RUNNING, at=T0, detail=f"step {n}")
        for n in range(1160)
    ]
    once = runlog.update(claimed.model_copy(update={"history": steps}))
    assert runlog.get(claimed.run_id) == once
    assert len(once.history) == HISTORY_FIRST + HISTORY_LAST
    assert once.history_dropped == 1160 - HISTORY_FIRST - HISTORY_LAST
    assert [h.detail for h in once.history][:2] == ["step 0", "step 1"]
    assert once.history[-1].detail == "step 1159"
