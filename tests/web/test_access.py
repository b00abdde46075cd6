"""The dashboard's API and pages per role, in-process: what each role sees, what it is refused,
login and CSRF (the SQL console: test_console.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from medalist.access import Users
from medalist.cli import app
from medalist.web.app import create_app
from tests.web.conftest import as_role


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
