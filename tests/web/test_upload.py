"""PUT /api/landing/<dataset>/<name>: an uploader's token writes its datasets' landing only,
the body lands whole when its SHA-256 matches the header, a run takes it; every refusal has
its status code and reason, and leaves nothing in landing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from medalist.access import Users
from medalist.runlog import Status
from medalist.web.app import create_app
from medalist.web.upload import router
from tests.aws.lake import staged_left
from tests.conftest import HEADER, ORDERS_CONTRACT, Project
from tests.integration.lakes import Lake

CSV = HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n"
ROLES = {
    "admin": {"zones": "all", "operate": True},  # reads everything, uploads nothing
    "client": {"zones": [], "upload": ["orders"]},
    "anywhere": {"zones": ["gold"], "upload": "all"},
}
DATASETS = {
    "orders": ORDERS_CONTRACT,
    "stores": {"source": "stores/*.csv", "columns": {"id": {"type": "bigint"}}},
}


def put(
    client: TestClient, token: str | None, path: str, body: bytes, sha: str | None = None
) -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers["X-Checksum-Sha256"] = sha if sha is not None else hashlib.sha256(body).hexdigest()
    return client.put(f"/api/landing/{path}", content=body, headers=headers)


def serve(root: Path) -> tuple[Project, TestClient, dict[str, str]]:
    root.mkdir(parents=True, exist_ok=True)
    config = {
        "name": "shop",
        "datasets": DATASETS,
        "models": {},
        "notifications": [],
        "access": {"roles": ROLES, "max_upload_bytes": 1000},
    }
    project = Project(root, config)
    users = Users(project.pipeline)
    tokens = {role: users.add(f"{role}-user", role) for role in ROLES}
    return project, TestClient(create_app(project.pipeline)), tokens


@pytest.fixture
def served(tmp_path: Path) -> tuple[Project, TestClient, dict[str, str]]:
    """A fresh dashboard, for a test that lands files."""
    return serve(tmp_path / "project")


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, TestClient, dict]:
    """One dashboard for the refusals, which land nothing."""
    return serve(tmp_path_factory.mktemp("refusals") / "project")


def test_an_uploaded_file_lands_whole_and_a_run_takes_it(served) -> None:
    project, client, tokens = served
    answer = put(client, tokens["client"], "orders/2026-11-24.csv", CSV.encode())
    assert answer.status_code == 201, answer.text
    assert answer.json()["outcome"] == "landed" and answer.json()["bytes"] == len(CSV)
    assert (project.landing / "orders" / "2026-11-24.csv").read_text() == CSV
    (run,) = project.run().runs
    assert run.status == Status.SUCCEEDED and run.rows_in == 1

    again = put(client, tokens["client"], "orders/2026-11-24.csv", CSV.encode())
    renamed = put(client, tokens["client"], "orders/copy.csv", CSV.encode())
    assert again.status_code == 200 and "same content" in again.json()["reason"]
    assert renamed.status_code == 200 and renamed.json()["outcome"] == "skipped"


@pytest.mark.parametrize(
    ("caller", "path", "body", "sha", "status", "says"),
    [
        (None, "orders/a.csv", CSV, None, 401, "Bearer"),
        ("admin", "orders/a.csv", CSV, None, 403, "may not upload to dataset orders"),
        ("client", "stores/a.csv", CSV, None, 403, "may not upload to dataset stores"),
        ("anywhere", "nowhere/a.csv", CSV, None, 404, "no dataset 'nowhere'"),
        ("client", "orders/a.txt", CSV, None, 400, "would not be read"),
        ("client", "orders/.hidden.csv", CSV, None, 400, "not a plain file name"),
        ("client", "orders/a.csv", CSV, "", 400, "X-Checksum-Sha256"),
        ("client", "orders/a.csv", CSV, "0" * 64, 400, "cut or changed on the way"),
        ("client", "orders/a.csv", "", None, 400, "empty"),
        ("client", "orders/a.csv", CSV * 40, None, 413, "max_upload_bytes"),
    ],
    ids=[
        "no-token",
        "role-without-upload",
        "other-dataset",
        "unknown-dataset",
        "name-not-read",
        "hidden-name",
        "no-checksum",
        "checksum-mismatch",
        "empty",
        "too-big",
    ],
)
def test_every_refusal_says_why_and_lands_nothing(
    refusing, caller, path, body, sha, status, says
) -> None:
    project, client, tokens = refusing
    answer = put(client, tokens.get(caller), path, body.encode(), sha)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]
    assert not [p for p in project.landing.rglob("*") if p.is_file()]


def test_a_body_larger_than_announced_is_cut_at_the_limit(served) -> None:
    project, client, tokens = served
    chunks = iter([CSV.encode()] * 40)  # streamed without Content-Length (chunked)
    answer = client.put(
        "/api/landing/orders/a.csv",
        content=chunks,
        headers={"Authorization": f"Bearer {tokens['client']}", "X-Checksum-Sha256": "0" * 64},
    )
    assert answer.status_code == 413 and "1,000 bytes" in answer.json()["detail"]
    assert "reading stopped after" in answer.json()["detail"]  # not the file's size: unknown
    assert not [p for p in project.landing.rglob("*") if p.is_file()]


def test_a_name_taken_by_another_file_is_refused(served) -> None:
    project, client, tokens = served
    project.land("orders/a.csv", CSV)
    answer = put(client, tokens["client"], "orders/a.csv", CSV.replace("PAID", "REFUNDED").encode())
    assert answer.status_code == 409 and "new name" in answer.json()["detail"]
    assert (project.landing / "orders" / "a.csv").read_text() == CSV


def test_uploads_reach_a_lake_on_s3(s3_lake: Lake, tmp_path) -> None:
    """The same endpoint over the Storage port of a lake on S3 (the dashboard's users in a
    local metastore beside it): the file lands whole, a refused one leaves no staged object."""
    pipeline = s3_lake.pipeline
    users = Users(pipeline, tmp_path)
    token = users.add("client", "admin")
    app = FastAPI()
    app.include_router(router(pipeline, s3_lake.ports, users))
    answer = put(TestClient(app), token, "orders/2026-11-24.csv", CSV.encode())
    assert answer.status_code == 201, answer.text
    assert s3_lake.names("orders") == ["orders/2026-11-24.csv"]
    assert s3_lake.read("orders/2026-11-24.csv") == CSV.encode()
    client = TestClient(app)
    mismatch = put(client, token, "orders/b.csv", CSV.encode(), "0" * 64)
    again = put(client, token, "orders/2026-11-24.csv", CSV.encode())
    other = put(client, token, "orders/2026-11-24.csv", CSV.replace("PAID", "REFUNDED").encode())
    assert mismatch.status_code == 400 and s3_lake.names("orders") == ["orders/2026-11-24.csv"]
    assert again.status_code == 200 and "same content" in again.json()["reason"]
    assert other.status_code == 409 and s3_lake.read("orders/2026-11-24.csv") == CSV.encode()
    assert staged_left(s3_lake.ports.storage) == []
