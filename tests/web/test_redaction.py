"""Roles without landing see no file names, whichever message carries them (decision 0014):
retry refusals and their fixes, "no longer in landing" / "changed since", a run's error fix,
quarantined rows' and silver's _source_file, pages as well as the API. One redaction
(medalist.redact) applied to every response body, not one per call site."""

from __future__ import annotations

from medalist.wiring import local_ports
from tests.web.conftest import SECRET, as_role


def names(run) -> tuple[str, str]:
    return run.file, run.file.rsplit("/", 1)[-1]


def test_retry_refusals_name_no_file_to_an_operator_without_landing(lake):
    project, (ok, failed), tokens, client = lake
    h = as_role(tokens, "operator")  # operate: true, zones: [gold]

    succeeded = client.post(f"/api/runs/{ok.run_id}/retry", headers=h)
    (project.landing / failed.file).write_bytes(b"\x00other bytes")
    changed = client.post(f"/api/runs/{failed.run_id}/retry", headers=h)
    (project.landing / failed.file).unlink()
    gone = client.post(f"/api/runs/{failed.run_id}/retry", headers=h)
    page = client.post(f"/runs/{ok.run_id}/retry", headers=h)

    assert succeeded.status_code == 403 and "nothing to retry" in succeeded.json()["detail"]
    assert changed.status_code == 403 and "changed since run" in changed.json()["detail"]
    assert gone.status_code == 404 and "is no longer in landing" in gone.json()["detail"]
    assert page.status_code == 403 and "nothing to retry" in page.text
    for answer, run in ((succeeded, ok), (changed, failed), (gone, failed), (page, ok)):
        assert "(hidden: landing zone)" in answer.text
        for name in names(run):
            assert name not in answer.text


def test_a_runs_error_hides_the_file_in_its_fix_as_well_as_its_message(lake):
    project, (_, failed), tokens, client = lake
    runlog = local_ports(project.pipeline).runlog
    record = runlog.get(failed.run_id)
    runlog.update(
        record.model_copy(update={"error": {**record.error, "fix": f"Fix {failed.file}."}})
    )

    api = client.get(f"/api/runs/{failed.run_id}", headers=as_role(tokens, "analyst"))
    runs = client.get("/api/runs", headers=as_role(tokens, "analyst"))
    page = client.get(f"/runs/{failed.run_id}", headers=as_role(tokens, "operator"))
    engineer = client.get(f"/api/runs/{failed.run_id}", headers=as_role(tokens, "engineer"))

    assert api.json()["error"]["fix"] == "Fix (hidden: landing zone)."
    assert api.json()["file"] == "(hidden: landing zone)" and api.json()["file_hash"] is None
    for answer in (api, runs, page):
        assert answer.status_code == 200 and SECRET not in answer.text
    assert engineer.json()["error"]["fix"] == f"Fix {failed.file}."  # landing sees it


def test_rows_naming_their_source_file_hide_it_from_a_role_without_landing(lake):
    _, (ok, _), tokens, client = lake
    h = as_role(tokens, "auditor")  # zones: [silver, quarantine]
    sql = {"sql": "SELECT _source_file, order_id FROM silver.orders"}

    quarantined = client.get(f"/api/runs/{ok.run_id}/quarantine", headers=h)
    page = client.get(f"/runs/{ok.run_id}", headers=h)
    silver = client.post("/api/query", headers=h, json=sql)
    engineer = client.post("/api/query", headers=as_role(tokens, "engineer"), json=sql)

    row = quarantined.json()["rows"][0]
    assert row[quarantined.json()["columns"].index("_source_file")] == "(hidden: landing zone)"
    assert "Quarantined rows" in page.text and ok.file not in page.text
    assert silver.json()["rows"] == [["(hidden: landing zone)", 1]]
    assert engineer.json()["rows"] == [[ok.file, 1]]
