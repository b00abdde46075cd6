"""Silver compaction (medalist/compaction.py, decision 0029): a month's run files become one,
readers see the same rows, and it is a run in the run log."""

from __future__ import annotations

from medalist.compaction import compact
from medalist.operate import replay_dataset
from medalist.runlog import Status
from medalist.states.lake import expose_silver, live_quarantine
from medalist.wiring import local_ports
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner
from tests.conftest import HEADER


def _file(first: int, day: int, extra: str = "") -> str:
    rows = [f"{first + i},2026-11-{day:02d} 09:00:00,{i},1,2.00,PAID" for i in range(3)]
    return HEADER + "\n".join(rows) + "\n" + extra


def _silver(project) -> list[tuple]:
    return sorted(
        (r["order_id"], r["quantity"], r["_source_file"]) for r in _view(project, "silver")
    )


def _view(project, zone: str) -> list[dict]:
    """What readers see (the run log decides which files), as the engine's views read it."""
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    engine = ports.engine()
    try:
        if zone == "silver":
            expose_silver(engine, ports, pipeline)
        else:
            zone = "incoming"
            engine.expose(zone, "orders", live_quarantine(ports, "orders"), {}, [])
        return engine.con.sql(f"SELECT * FROM {zone}.orders").to_arrow_table().to_pylist()
    finally:
        engine.close()


def test_past_the_threshold_a_run_compacts_silver_and_the_view_keeps_every_row(make_project):
    project = make_project(compaction={"max_files": 2}, batch={"max_files": 1})
    project.land("orders/2026-11-01.csv", _file(100, 1, "9,2026-11-01 09:00:00,1,0,2.00,PAID\n"))
    project.land("orders/2026-11-02.csv", _file(200, 2, "100,2026-11-01 09:00:00,0,7,2.00,PAID\n"))
    project.run()
    before = _silver(project)
    project.land("orders/2026-11-03.csv", _file(300, 3))

    outcome = project.run()

    (compaction,) = outcome.compacted
    assert compaction.status == Status.SUCCEEDED and compaction.file.startswith("_compaction/")
    assert len(compaction.outputs["Compact"]["members"]) == 3
    assert len(list((project.root / "lake" / "silver" / "orders").glob("*.parquet"))) == 1
    assert _silver(project) == sorted([*before, *[(300 + i, 1, "orders/2026-11-03.csv")
                                                  for i in range(3)]])  # fmt: skip
    assert (100, 7, "orders/2026-11-02.csv") in _silver(project)  # the correction still wins
    assert [r["order_id"] for r in _view(project, "quarantine")] == ["9"]
    pipeline = project.pipeline
    ports = local_ports(pipeline)
    assert compaction.run_id in {r.run_id for r in ports.runlog.list(limit=None)}

    # a later correction still wins over the compacted file; compacting again absorbs it
    project.land("orders/2026-11-04.csv", _file(400, 4, "300,2026-11-03 09:00:00,0,9,2.00,PAID\n"))
    project.run()
    assert (300, 9, "orders/2026-11-04.csv") in _silver(project)
    again = compact(pipeline, ports, Runner(INGEST))
    assert len(again) == 1 and _silver(project).count((300, 9, "orders/2026-11-04.csv")) == 1
    assert len(_silver(project)) == 12

    replayed = replay_dataset(
        pipeline, ports, Runner(INGEST), "orders", file="orders/2026-11-01.csv"
    )
    assert replayed.runs == [] and "compacted into run" in replayed.skipped[0]
    assert project.run().runs == []  # nothing new, nothing redone
