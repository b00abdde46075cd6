"""The commands a user types, with their output and exit codes (0 ok, 1 a run failed, 2 usage)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from medalist.cli import app

runner = CliRunner()


def medalist(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


@pytest.fixture
def shop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = medalist("init", "shop")
    assert result.exit_code == 0, result.output
    return tmp_path / "shop" / "pipeline.yaml"


def test_init_validate_run_runs_show(shop):
    config = str(shop)
    assert "pipeline shop is valid" in medalist("validate", "-c", config).output

    first = medalist("run", "-c", config)
    assert first.exit_code == 0, first.output
    # The sample quarantines 2 of its 5 rows on purpose: a success that needs a look.
    assert "WARN" in first.output and "40% of rows quarantined" in first.output

    again = medalist("run", "-c", config)
    assert again.exit_code == 0 and "Nothing new in landing." in again.output

    listing = medalist("runs", "-c", config)
    run_id = re.search(r"\b([0-9A-Z]{26})\b", listing.output)[1]
    assert "orders/sample-2026-11-24.csv" in listing.output

    detail = medalist("show", run_id[:12], "-c", config)
    assert detail.exit_code == 0
    for text in (
        "Crawl",
        "Transform",
        "Load",
        "quantity:min",
        "status:accepted",
        "5 in, 3 silver, 2 quarantined",
    ):
        assert text in detail.output, text


def test_config_comes_from_the_environment(shop):
    result = medalist("validate", env={"MEDALIST_CONFIG": str(shop)})
    assert result.exit_code == 0, result.output


def test_a_failed_run_exits_1(shop):
    (shop.parent / "lake/landing/orders/bad.csv").write_bytes(b"\xff\xfe\x00garbage")
    result = medalist("run", "-c", str(shop))
    assert result.exit_code == 1
    assert "FAILED" in result.output


def test_config_errors_exit_2_and_name_the_key(shop):
    shop.write_text(shop.read_text().replace("primary_key:", "primary_kye:", 1))
    result = medalist("run", "-c", str(shop))
    assert result.exit_code == 2
    assert "datasets.orders.primary_kye: unknown key. Did you mean 'primary_key'?" in (
        result.output.replace("\n", "")
    )


def test_missing_config_and_unknown_run_exit_2(tmp_path, monkeypatch, shop):
    monkeypatch.delenv("MEDALIST_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert medalist("runs").exit_code == 2
    assert medalist("show", "NOSUCHRUN", "-c", str(shop)).exit_code == 2


def test_init_refuses_to_overwrite(shop):
    result = medalist("init", "shop")
    assert result.exit_code == 2 and "already exists" in result.output


def test_validate_never_prints_the_destination_password(shop, monkeypatch):
    monkeypatch.setenv("PG_PASSWORD", "hunter2")
    text = shop.read_text().replace(
        "# destination: postgresql://postgres@127.0.0.1:5432/shop",
        "destination: postgresql://postgres:${PG_PASSWORD}@127.0.0.1:5432/shop",
    )
    shop.write_text(text)
    result = medalist("validate", "-c", str(shop))
    assert result.exit_code == 0, result.output
    assert "postgres:***@127.0.0.1:5432/shop" in result.output
    assert "hunter2" not in result.output


def test_version_prints_the_version():
    from medalist import __version__

    result = medalist("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"medalist {__version__}"


def test_ui_on_a_busy_port_fails_before_printing_a_url(shop):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = medalist("ui", "-c", str(shop), "--port", str(port))
    assert result.exit_code == 2
    assert "http://" not in result.output
    assert f"127.0.0.1:{port} is already in use" in result.output
    assert f"--port {port + 1}" in result.output
