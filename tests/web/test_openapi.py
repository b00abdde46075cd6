"""The OpenAPI document: only for logged-in users once users exist (it lists every route and
the pipeline's name), and it documents each refusal the API can answer with, and its body."""

from __future__ import annotations

from fastapi.testclient import TestClient

from medalist.web.app import create_app
from tests.web.conftest import as_role


def test_the_openapi_document_needs_a_token_once_users_exist(shared_lake):
    _, _, tokens, client = shared_lake

    anonymous = client.get("/openapi.json")
    wrong = client.get("/openapi.json", headers={"Authorization": "Bearer mdl_wrong"})
    analyst = client.get("/openapi.json", headers=as_role(tokens, "analyst"))

    assert anonymous.status_code == 401 and "shop" not in anonymous.text
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert analyst.status_code == 200 and analyst.json()["info"]["title"] == "medalist: shop"


def test_single_user_mode_serves_the_openapi_document_to_the_local_user(make_project):
    project = make_project(notifications=[])

    assert TestClient(create_app(project.pipeline)).get("/openapi.json").status_code == 200


def test_every_api_operation_documents_its_refusals_with_their_body(shared_lake):
    _, _, tokens, client = shared_lake
    doc = client.get("/openapi.json", headers=as_role(tokens, "analyst")).json()
    error = {"$ref": "#/components/schemas/ErrorOut"}

    documented = {
        f"{method.upper()} {path}": set(op["responses"])
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
    }
    bodies = {
        op["responses"][code]["content"]["application/json"]["schema"] == error
        for methods in doc["paths"].values()
        for op in methods.values()
        for code in op["responses"]
        if code in ("400", "401", "403", "404", "409", "429")
    }

    assert all(path.split(" ")[1].startswith("/api/") for path in documented)
    assert all({"401", "403"} <= codes for codes in documented.values())
    assert {"400", "401", "403"} <= documented["POST /api/query"]
    assert {"404", "409", "429"} <= documented["POST /api/runs/{run_id}/retry"]
    assert "404" in documented["GET /api/runs/{run_id}"]
    assert bodies == {True}
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
