"""A dashboard over a small lake, shared by the web tests: one good run (one row quarantined),
one failed run whose file name is a secret to roles without landing, and a user per role."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medalist.access import Users
from medalist.web.app import create_app
from tests.conftest import DAILY_SALES, HEADER, ORDERS_CONTRACT, Project

GOOD = HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n2,2026-11-24 10:00:00,7,0,1.00,PAID\n"
SECRET = "secret-name"  # part of the failed file's name: only roles with landing may see it
ROLES = {
    "analyst": {"zones": ["gold"]},
    "engineer": {"zones": ["landing", "silver", "gold", "quarantine"], "operate": True},
    "admin": {"zones": "all", "operate": True},
    # custom roles: may operate but not see landing; may see silver and quarantine only
    "operator": {"zones": ["gold"], "operate": True},
    "auditor": {"zones": ["silver", "quarantine"]},
}


def build_lake(root: Path):
    """(project, runs sorted by file: good then failed, {role: token}, in-process client)."""
    root.mkdir(parents=True, exist_ok=True)
    project = Project(
        root,
        {
            "name": "shop",
            "datasets": {"orders": ORDERS_CONTRACT},
            "models": {"daily_sales": DAILY_SALES},
            "notifications": [],
            "access": {"roles": ROLES},
        },
    )
    project.land("orders/2026-11-24.csv", GOOD)
    project.land(f"orders/{SECRET}-2026-11-25.csv", b"\x00binary")
    runs = sorted(project.run().runs, key=lambda r: r.file)
    users = Users(project.pipeline)
    tokens = {role: users.add(f"{role}-user", role) for role in ROLES}
    client = TestClient(create_app(project.pipeline))
    return project, runs, tokens, client


@pytest.fixture
def lake(tmp_path):
    """A fresh lake for a test that changes it (retries, logins)."""
    return build_lake(tmp_path / "project")


@pytest.fixture(scope="module")
def shared_lake(tmp_path_factory):
    """One lake for a module's read-only tests (queries): built once, ~1 s."""
    return build_lake(tmp_path_factory.mktemp("shared") / "project")


def as_role(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test of the session (~1 s to start)."""
    from tests.web.browser import launch

    yield from launch()


@pytest.fixture(scope="session")
def served_site(tmp_path_factory):
    """The browser tests' lake (tests/web/site.py), built and served once (~3 s)."""
    from tests.web.site import served_site

    yield from served_site(tmp_path_factory.mktemp("site") / "project")
