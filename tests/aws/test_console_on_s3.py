"""`medalist query`, `medalist users` and the dashboard on a lake on S3 (both layouts): the
console reads every zone a role may see through the engine's S3 filesystem, its sandbox refuses
objects outside those zones, and users, sessions and query history live in this machine's state
folder (decision 0037), never in the lake and never in a folder named `s3:`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from medalist.access import Users
from medalist.cli import app
from medalist.controller import run_pipeline
from medalist.loader import load_pipeline
from medalist.query import Console
from medalist.storage.s3 import S3Storage
from medalist.web.app import create_app
from medalist.wiring import open_ports
from tests.aws.lake import s3_lake_config
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT

# A bucket per zone is the slow half (`make test-heavy`): other allowed prefixes, same code.
LAYOUTS = ["prefix", pytest.param("buckets", marks=pytest.mark.heavy)]
GOOD_AND_BAD = HEADER + (
    "1,2026-11-24 09:00:00,7,2,10.00,PAID\n"
    "2,2026-11-24 10:00:00,8,0,5.00,PAID\n"  # quantity below its minimum: quarantined
    "3,2026-11-25 11:00:00,9,1,4.00,REFUNDED\n"
)


@pytest.fixture(scope="module", params=LAYOUTS)
def lake(
    request: pytest.FixtureRequest, aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A pipeline on S3 that ran once over one file with a bad row; its folder."""
    root = tmp_path_factory.mktemp(f"console-{request.param}")
    config = {
        "name": "shop",
        "datasets": {"orders": ORDERS_CONTRACT},
        "models": {"daily_sales": DAILY_SALES},
        "notifications": [],
        "destination": "dummy://",
        **s3_lake_config(aws_endpoint, request.param),
    }
    (root / "pipeline.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    pipeline = load_pipeline(root / "pipeline.yaml")
    ports = open_ports(pipeline)
    storage = ports.storage
    assert isinstance(storage, S3Storage)
    landing = storage.roots["landing"]
    storage.s3.put_object(
        Bucket=landing.bucket, Key=landing.key("orders/a.csv"), Body=GOOD_AND_BAD.encode()
    )
    (run,) = run_pipeline(pipeline, ports).runs
    assert run.status == "SUCCEEDED", run.error
    return root


def _query(lake: Path, sql: str, *args: str) -> list[dict[str, Any]]:
    got = CliRunner().invoke(
        app, ["query", sql, "-c", str(lake / "pipeline.yaml"), "--format", "json", *args]
    )
    assert got.exit_code == 0, got.output
    return [json.loads(line) for line in got.output.splitlines()]


def test_medalist_query_reads_every_zone_of_a_lake_on_s3(lake: Path) -> None:
    # One query over the four zones: each `medalist query` builds its whole sandbox afresh.
    (got,) = _query(
        lake,
        "SELECT (SELECT string_agg(order_id || ':' || status, ',' ORDER BY order_id) "
        "FROM silver.orders) AS silver, "
        "(SELECT string_agg(day || ':' || orders || ':' || revenue, ',' ORDER BY day) "
        "FROM gold.daily_sales) AS gold, "
        "(SELECT string_agg(order_id || ':' || _rules[1], ',') FROM quarantine.orders) "
        "AS quarantine, "
        "(SELECT string_agg(order_id, ',' ORDER BY order_id) FROM landing.orders) AS landing, "
        "(SELECT any_value(filename) FROM landing.orders) AS filename",
    )

    assert got["silver"] == "1:PAID,3:REFUNDED"
    assert got["gold"] == "2026-11-24:1:20.00,2026-11-25:1:4.00"
    assert got["quarantine"] == "2:quantity:min"
    assert got["landing"] == "1,2,3"
    landed = load_pipeline(lake / "pipeline.yaml").zone_url("landing") + "/orders/a.csv"
    assert landed.startswith("s3://") and got["filename"] == landed
    assert not (lake / "s3:").exists()


def test_the_sandbox_on_s3_reads_only_the_zones_of_the_role(lake: Path) -> None:
    """Below the SQL checks (which refuse read_csv before the engine sees it), the engine
    itself is locked to the role's zone prefixes: an analyst's sandbox cannot open a landed
    object by URL, an admin's can."""
    pipeline = load_pipeline(lake / "pipeline.yaml")
    ports = open_ports(pipeline)
    landed = ports.storage.url("landing", "orders/a.csv")
    users = Users(pipeline)
    admin = users.local_admin()
    analyst = type(admin)("ann", "analyst", pipeline.access.roles["analyst"])

    with Console(pipeline, ports, analyst).sandbox() as engine:
        assert engine.con.execute("SELECT count(*) FROM gold.daily_sales").fetchone() == (2,)
        with pytest.raises(duckdb.Error, match="Cannot access file"):
            engine.con.execute(f"SELECT * FROM read_csv('{landed}')").fetchall()
    with Console(pipeline, ports, admin).sandbox() as engine:
        rows = engine.con.execute(f"SELECT count(*) FROM read_csv('{landed}')").fetchone()
        assert rows == (3,)


def test_users_and_the_dashboard_on_s3_keep_their_state_on_this_machine(lake: Path) -> None:
    config = str(lake / "pipeline.yaml")
    added = CliRunner().invoke(app, ["users", "add", "ann", "--role", "analyst", "-c", config])
    assert added.exit_code == 0, added.output
    token = added.output.strip().splitlines()[-1]
    listed = CliRunner().invoke(app, ["users", "list", "-c", config])
    assert "ann  analyst" in listed.output

    client = TestClient(create_app(load_pipeline(lake / "pipeline.yaml")))
    auth = {"Authorization": f"Bearer {token}"}
    gold = client.post("/api/query", headers=auth, json={"sql": "SELECT * FROM gold.daily_sales"})
    silver = client.post("/api/query", headers=auth, json={"sql": "SELECT * FROM silver.orders"})
    runs = client.get("/api/runs", headers=auth)

    assert gold.status_code == 200 and len(gold.json()["rows"]) == 2
    assert silver.status_code == 403  # an analyst sees gold only, on S3 as locally
    assert runs.status_code == 200  # without landing, its file names are redacted, as locally
    assert [r["file"] for r in runs.json()] == ["(hidden: landing zone)"]
    history = client.get("/api/query/history", headers=auth).json()
    # newest first; the refused query is kept with its reason (the console's history)
    assert [h["sql"] for h in history] == [
        "SELECT * FROM silver.orders",
        "SELECT * FROM gold.daily_sales",
    ]
    assert history[0]["error"] and not history[1]["error"]
    state = lake / ".medalist" / "metastore.sqlite"  # decision 0019's state folder
    assert state.exists() and not (lake / "s3:").exists()
    removed = CliRunner().invoke(app, ["users", "remove", "ann", "-c", config])
    listed = CliRunner().invoke(app, ["users", "list", "-c", config])
    assert removed.exit_code == 0 and "No users" in listed.output


def test_the_dashboard_shows_a_runs_quarantined_rows_from_s3(lake: Path) -> None:
    """The run page's quarantine table and its API read the run's quarantine object through
    the engine's S3 filesystem, as the console does."""
    config = str(lake / "pipeline.yaml")
    added = CliRunner().invoke(app, ["users", "add", "qa", "--role", "admin", "-c", config])
    assert added.exit_code == 0, added.output
    auth = {"Authorization": f"Bearer {added.output.strip().splitlines()[-1]}"}
    client = TestClient(create_app(load_pipeline(lake / "pipeline.yaml")))
    (run,) = client.get("/api/runs", headers=auth).json()

    sample = client.get(f"/api/runs/{run['run_id']}/quarantine", headers=auth)
    page = client.get(f"/runs/{run['run_id']}", headers=auth)

    assert sample.status_code == 200, sample.text
    rows = [dict(zip(sample.json()["columns"], r, strict=True)) for r in sample.json()["rows"]]
    assert [r["order_id"] for r in rows] == ["2"] and "quantity:min" in rows[0]["_rules"]
    assert page.status_code == 200 and "quantity:min" in page.text
    CliRunner().invoke(app, ["users", "remove", "qa", "-c", config])
