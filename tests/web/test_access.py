"""The dashboard's API and pages per role, in-process: what each role sees, what it is refused,
login and CSRF, and the SQL console's refusals (a table of hostile queries)."""

from __future__ import annotations

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from medalist.access import Users
from medalist.cli import app
from medalist.errors import Refused
from medalist.query import Console
from medalist.web.app import create_app
from medalist.wiring import local_ports
from tests.conftest import HEADER

GOOD = HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n2,2026-11-24 10:00:00,7,0,1.00,PAID\n"


@pytest.fixture
def lake(make_project):
    """A project with one good run (one row quarantined), one failed run, and three users."""
    project = make_project(notifications=[])
    project.land("orders/2026-11-24.csv", GOOD)
    project.land("orders/secret-name-2026-11-25.csv", b"\x00binary")
    runs = sorted(project.run().runs, key=lambda r: r.file)
    users = Users(project.pipeline)
    tokens = {role: users.add(f"{role}-user", role) for role in ("analyst", "engineer", "admin")}
    client = TestClient(create_app(project.pipeline))
    return project, runs, tokens, client


def as_role(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_without_a_token_the_api_says_401_and_pages_send_you_to_login(lake):
    _, _, _, client = lake

    assert client.get("/api/runs").status_code == 401
    assert client.get("/api/runs", headers={"Authorization": "Bearer nope"}).status_code == 401
    page = client.get("/runs", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"


def test_an_analyst_sees_runs_but_no_file_names_no_silver_and_no_quarantine(lake):
    _, (ok, failed), tokens, client = lake
    h = as_role(tokens, "analyst")

    runs = client.get("/api/runs", headers=h).json()
    one = client.get(f"/api/runs/{failed.run_id}", headers=h).json()
    quarantine = client.get(f"/api/runs/{ok.run_id}/quarantine", headers=h)
    silver = client.post("/api/query", headers=h, json={"sql": "SELECT * FROM silver.orders"})
    gold = client.post("/api/query", headers=h, json={"sql": "SELECT * FROM gold.daily_sales"})

    assert {r["file"] for r in runs} == {"(hidden: landing zone)"}
    assert "secret-name" not in str(runs) and "secret-name" not in str(one)
    assert one["error"]["state"] == "Crawl" and "binary" in one["error"]["message"]
    assert quarantine.status_code == 403
    assert "role analyst may not see the quarantine zone" in quarantine.json()["detail"]
    assert silver.status_code == 403 and "may not see the silver zone" in silver.json()["detail"]
    assert gold.status_code == 200 and gold.json()["rows"][0][1] == 1


def test_an_analyst_cannot_retry_and_an_engineer_can(lake):
    _, (_, failed), tokens, client = lake

    refused = client.post(f"/api/runs/{failed.run_id}/retry", headers=as_role(tokens, "analyst"))
    done = client.post(f"/api/runs/{failed.run_id}/retry", headers=as_role(tokens, "engineer"))

    assert refused.status_code == 403 and "may not operate runs" in refused.json()["detail"]
    assert done.status_code == 200 and done.json()["status"] == "FAILED"  # same bytes, same end


def test_an_engineer_sees_file_names_and_quarantined_rows(lake):
    _, (ok, _), tokens, client = lake
    h = as_role(tokens, "engineer")

    rows = client.get(f"/api/runs/{ok.run_id}/quarantine", headers=h).json()
    page = client.get(f"/runs/{ok.run_id}", headers=h)

    assert rows["rows"][0][rows["columns"].index("_rules")] == "['quantity:min']"
    assert "orders/2026-11-24.csv" in page.text and "Quarantined rows" in page.text


def test_browser_login_sets_a_session_and_forms_need_its_csrf_token(lake):
    _, (_, failed), tokens, client = lake

    bad = client.post("/login", data={"token": "wrong"}, follow_redirects=False)
    good = client.post("/login", data={"token": tokens["admin"]}, follow_redirects=False)
    page = client.get(f"/runs/{failed.run_id}")
    forged = client.post(f"/runs/{failed.run_id}/retry", data={"csrf": "guess"})

    assert bad.headers["location"].startswith("/login?error")
    assert good.status_code == 303 and "HttpOnly" in good.headers["set-cookie"]
    assert "samesite=strict" in good.headers["set-cookie"].lower()
    assert page.status_code == 200 and "Retry from Crawl" in page.text
    assert forged.status_code == 403


def test_single_user_mode_when_no_user_exists(make_project):
    project = make_project(notifications=[])
    client = TestClient(create_app(project.pipeline))

    page = client.get("/")

    assert page.status_code == 200 and "single-user mode" in page.text


HOSTILE = [
    ("file read", "SELECT * FROM read_csv('/etc/passwd')"),
    ("file read, auto", "SELECT * FROM read_csv_auto('/etc/passwd')"),
    ("text read", "SELECT * FROM read_text('/etc/hostname')"),
    ("blob read", "SELECT * FROM read_blob('/etc/hostname')"),
    ("parquet read", "SELECT * FROM read_parquet('/tmp/*.parquet')"),
    ("json read", "SELECT * FROM read_json('/tmp/x.json')"),
    ("glob", "SELECT * FROM glob('/etc/*')"),
    ("bare path", "SELECT * FROM '/etc/passwd'"),
    ("sql as text", "SELECT * FROM query('SELECT 1')"),
    ("attach", "ATTACH '/tmp/x.duckdb' AS x"),
    ("copy to", "COPY (SELECT 1) TO '/tmp/out.csv'"),
    ("export", "EXPORT DATABASE '/tmp/dump'"),
    ("install", "INSTALL httpfs"),
    ("load", "LOAD httpfs"),
    ("pragma", "PRAGMA database_list"),
    ("set", "SET memory_limit = '64GB'"),
    ("reset", "RESET enable_external_access"),
    ("create", "CREATE TABLE gold.x AS SELECT 1"),
    ("insert", "INSERT INTO gold.daily_sales VALUES (NULL, 1, 1)"),
    ("delete", "DELETE FROM gold.daily_sales"),
    ("drop", "DROP VIEW gold.daily_sales"),
    ("two statements", "SELECT 1; SELECT 2"),
    ("hidden second statement", "SELECT 1; /* comment */ DROP VIEW gold.daily_sales"),
    ("comment trick", "SELECT 1 --\n; ATTACH '/tmp/y.duckdb'"),
    ("zone the role lacks", "SELECT * FROM silver.orders"),
    ("quarantine for analyst", "SELECT * FROM quarantine.orders"),
    ("table without zone", "SELECT * FROM daily_sales"),
    ("catalog trick", "SELECT * FROM memory.gold.daily_sales"),
    ("settings function", "SELECT * FROM duckdb_settings()"),
    ("call", "CALL pragma_version()"),
    ("subquery file read", "SELECT (SELECT count(*) FROM read_csv('/etc/passwd'))"),
    ("cte file read", "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x"),
    ("not sql", "hello there"),
    ("empty", "   ;  "),
]


@pytest.mark.parametrize(("what", "sql"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_queries_are_refused_before_the_engine(lake, what, sql):
    _, _, tokens, client = lake

    answer = client.post("/api/query", headers=as_role(tokens, "analyst"), json={"sql": sql})

    assert answer.status_code == 403, (what, answer.json())
    assert answer.json()["detail"]


def test_a_huge_cross_join_is_stopped_by_the_time_limit(lake):
    project, _, _, _ = lake
    users = Users(project.pipeline)
    console = Console(project.pipeline, local_ports(project.pipeline), users.local_admin(), users)

    with pytest.raises(Refused, match="stopped after the 1 s time limit"):
        console.run("SELECT count(*) FROM range(100000000) a, range(100000000) b", limit_s=1)


def test_the_engine_itself_refuses_files_even_if_a_check_missed_them(lake):
    project, _, _, _ = lake
    users = Users(project.pipeline)
    console = Console(project.pipeline, local_ports(project.pipeline), users.local_admin(), users)
    engine = console._sandbox()  # the locked DuckDB alone, without the SQL check in front

    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "ATTACH '/tmp/z.duckdb' AS z",
        "COPY (SELECT 1) TO '/tmp/z.csv'",
    ):
        with pytest.raises(duckdb.Error, match=r"(disabled|locked)"):
            engine.con.execute(sql)
    engine.close()


def test_users_cli_prints_a_token_once_and_ui_refuses_a_public_address_without_users(
    make_project,
):
    project = make_project(notifications=[])
    config = str(project.config_path)
    cli = CliRunner()

    refused = cli.invoke(app, ["ui", "--host", "0.0.0.0", "-c", config])
    added = cli.invoke(app, ["users", "add", "ann", "--role", "analyst", "-c", config])
    listed = cli.invoke(app, ["users", "list", "-c", config])
    unknown = cli.invoke(app, ["users", "add", "bob", "--role", "boss", "-c", config])

    assert refused.exit_code == 2 and "may only bind 127.0.0.1, not 0.0.0.0" in refused.output
    token = added.output.strip().splitlines()[-1]
    assert token.startswith("mdl_") and Users(project.pipeline).by_token(token).name == "ann"
    assert "ann  analyst" in listed.output and token not in listed.output
    assert unknown.exit_code == 2 and "no role 'boss'" in unknown.output
    assert cli.invoke(app, ["users", "remove", "ann", "-c", config]).exit_code == 0
    assert Users(project.pipeline).by_token(token) is None


def result_rows(html: str) -> int:
    return html.split('id="results"')[1].split("</table>")[0].count("<tr><td>")


def test_query_page_pages_through_results_and_downloads_csv(lake):
    _, _, tokens, client = lake
    client.post("/login", data={"token": tokens["engineer"]})
    csrf = client.get("/query").text.split('name="csrf" value="')[1].split('"')[0]
    sql = "SELECT range AS n FROM range(250)"

    first = client.post("/query", data={"sql": sql, "csrf": csrf, "page_no": 0})
    third = client.post("/query", data={"sql": sql, "csrf": csrf, "page_no": 2})
    csv = client.post("/query", data={"sql": sql, "csrf": csrf, "download": "1"})

    assert result_rows(first.text) == 100 and ">Next</button>" in first.text
    assert result_rows(third.text) == 50 and ">Next</button>" not in third.text
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[:3] == ["n", "0", "1"] and len(csv.text.splitlines()) == 251
    history = client.get("/api/query/history").json()
    assert history[0]["sql"] == sql and history[0]["rows"] == 250  # the download
