"""`medalist doctor` and `validate --connect` against the real PostgreSQL: each way the
destination can be not ready is named with its own fix, and a run meeting one fails at once
(terminal), without retrying for seconds and without blaming the network."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.loader import load_pipeline
from medalist.wiring import local_ports
from tests.conftest import SERVER_URL
from tests.pgauth import WrongPasswordServer

runner = CliRunner()


def medalist(*args: str):
    return runner.invoke(app, list(args))


def text_of(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def shop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert medalist("init", "shop").exit_code == 0
    return tmp_path / "shop" / "pipeline.yaml"


def use(config, url: str) -> str:
    text = config.read_text()
    config.write_text(text.replace("# destination: ", f"destination: {url}  # ", 1))
    return str(config)


def with_user(url: str, user: str, password: str | None = None) -> str:
    parts = urlsplit(url)
    login = f"{user}:{password}" if password else user
    return parts._replace(netloc=f"{login}@{parts.hostname}:{parts.port or 5432}").geturl()


@pytest.fixture
def role(pg_url) -> Iterator[str]:
    """A login role with no privilege on the test database beyond connecting."""
    name = f"medalist_role_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER_URL, autocommit=True) as con:
        con.execute(f'CREATE ROLE "{name}" LOGIN')
    yield name
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP OWNED BY "{name}"')
    with psycopg.connect(SERVER_URL, autocommit=True) as con:
        con.execute(f'DROP ROLE IF EXISTS "{name}"')


@pytest.fixture
def wrong_password() -> Iterator[WrongPasswordServer]:
    server = WrongPasswordServer()
    yield server
    server.close()


def test_doctor_passes_on_a_ready_postgresql(shop, pg_url):
    result = medalist("doctor", "-c", use(shop, pg_url))
    assert result.exit_code == 0, result.output
    for check in ("reachable", "credentials", "database", "privileges"):
        assert f"✓ {check}" in text_of(result)


def test_an_unknown_user_is_told_to_create_the_user_not_the_database(shop, pg_url):
    config = use(shop, with_user(pg_url, "nosuchuser"))
    result = medalist("doctor", "-c", config)
    assert result.exit_code == 1
    assert "✓ reachable" in text_of(result)
    assert "✗ credentials PostgreSQL at 127.0.0.1:5432 has no user 'nosuchuser'" in text_of(result)
    assert "createuser" in text_of(result) and "createdb" not in text_of(result)
    assert "· database not checked" in text_of(result)


def test_a_missing_database_is_told_to_createdb(shop, pg_url):
    missing = pg_url.rsplit("/", 1)[0] + "/no_such_db_" + uuid.uuid4().hex[:8]
    result = medalist("validate", "--connect", "-c", use(shop, missing))
    assert result.exit_code == 1
    assert "pipeline shop is valid" in text_of(result)
    assert "✓ credentials" in text_of(result)
    assert "✗ database" in text_of(result) and "createdb -h 127.0.0.1" in text_of(result)


def test_a_user_without_create_on_the_database_gets_the_grant(shop, pg_url, role):
    result = medalist("doctor", "-c", use(shop, with_user(pg_url, role)))
    assert result.exit_code == 1
    database = pg_url.rsplit("/", 1)[1]
    assert f"✗ privileges user {role} may not create schemas in database {database}" in (
        text_of(result)
    )
    assert f"GRANT CREATE ON DATABASE {database} TO {role};" in text_of(result)
    # The grant it prints is the fix.
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'GRANT CREATE ON DATABASE "{database}" TO "{role}"')
    again = medalist("doctor", "-c", str(shop))
    assert again.exit_code == 0, again.output


def test_a_schema_the_user_may_not_write_is_named(shop, pg_url, role):
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'GRANT CREATE ON DATABASE "{database}" TO "{role}"')
        con.execute("CREATE SCHEMA silver")
    result = medalist("doctor", "-c", use(shop, with_user(pg_url, role)))
    assert result.exit_code == 1
    assert "may not create tables in schema(s) silver" in text_of(result)
    assert f"GRANT USAGE, CREATE ON SCHEMA silver TO {role};" in text_of(result)


def test_a_closed_port_is_unreachable(shop):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = medalist("doctor", "-c", use(shop, f"postgresql://postgres@127.0.0.1:{port}/shop"))
    assert result.exit_code == 1
    assert f"✗ reachable PostgreSQL unreachable at 127.0.0.1:{port}" in text_of(result)
    assert "Start the server, or fix the host and port" in text_of(result)


def test_a_wrong_password_is_named_as_such(shop, wrong_password):
    url = f"postgresql://ann:s3cr3t-pw@127.0.0.1:{wrong_password.port}/shop"
    result = medalist("doctor", "-c", use(shop, url))
    assert result.exit_code == 1
    assert "✗ credentials PostgreSQL at" in text_of(result)
    assert "refused the password of user 'ann'" in text_of(result)
    assert "unreachable" not in text_of(result)
    assert "s3cr3t-pw" not in text_of(result)  # the password itself is never printed


def test_a_run_meeting_a_wrong_password_fails_at_once_without_retrying(shop, wrong_password):
    config = use(shop, f"postgresql://ann:s3cr3t-pw@127.0.0.1:{wrong_password.port}/shop")
    started = time.monotonic()
    result = medalist("run", "-c", config)
    took = time.monotonic() - started
    assert result.exit_code == 1
    assert wrong_password.logins == 1  # terminal: Load was not retried
    assert took < 10, took  # was 15 s of retries before
    run = local_ports(load_pipeline(config)).runlog.list()[0]
    assert run.error is not None and run.error["kind"] == "terminal"
    assert "refused the password of user 'ann'" in run.error["message"]
    assert not any("retry in" in (step.detail or "") for step in run.history)


def test_a_run_meeting_an_unknown_user_is_not_told_to_createdb(shop, pg_url):
    result = medalist("run", "-c", use(shop, with_user(pg_url, "nosuchuser")))
    assert result.exit_code == 1
    assert "has no user 'nosuchuser'" in text_of(result)
    assert "createdb" not in text_of(result)


def test_doctor_names_a_duckdb_file_another_process_holds(shop, tmp_path):
    import subprocess
    import sys

    warehouse = shop.parent / "lake" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    code = (
        f"import duckdb, time; c = duckdb.connect({str(warehouse)!r}); "
        "print('ready', flush=True); time.sleep(30)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
            result = medalist("doctor", "-c", str(shop))
        finally:
            holder.kill()
    assert result.exit_code == 1
    assert "✗ destination" in text_of(result) and "cannot be opened" in text_of(result)
    assert "stop the other one" in text_of(result)
