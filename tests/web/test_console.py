"""The SQL console as a security boundary (decisions 0007 and 0014): a table of hostile queries
that each get a 4xx with a message and read nothing outside the role's zones, the queries that
must keep working, and the engine's own walls (files, `..`, symlinks, its temp folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from medalist.access import Users
from medalist.query import BadQuery, Console
from medalist.wiring import local_ports
from tests.web.conftest import SECRET, as_role

NESTED = "SELECT " + "(" * 50 + "1" + ")" * 50

# (what, SQL with {lake} for the lake's absolute path, the status it gets). 400: the text is
# not a query the console can run; 403: a query the role may not run.
HOSTILE = [
    # the tokenizer cannot even split these into tokens (sqlglot TokenError, once a 500)
    ("unclosed string", "SELECT 'abc", 400),
    ("unclosed identifier", 'SELECT "abc FROM gold.daily_sales', 400),
    ("unclosed dollar string", "SELECT $$abc", 400),
    ("unclosed escape string", "SELECT E'abc", 400),
    ("unclosed comment", "SELECT 1 /* never closed", 400),
    # nesting and size, bounded before the parser recurses (RecursionError, once a 500)
    ("50 nested parentheses", NESTED, 400),
    ("40 nested lists", "SELECT " + "[" * 40 + "1" + "]" * 40, 400),
    ("2,000 NOTs", "SELECT " + "NOT " * 2000 + "true", 400),
    ("40,000 characters", "SELECT 1" + " + 1" * 10_000, 400),
    ("a lone surrogate", "SELECT '\ud800'", 400),
    ("not sql", "hello there", 403),
    ("empty", "   ;  ", 400),
    ("two statements", "SELECT 1; SELECT 2", 400),
    ("hidden second statement", "SELECT 1; /* comment */ DROP VIEW gold.daily_sales", 400),
    ("comment trick", "SELECT 1 --\n; ATTACH '/tmp/y.duckdb'", 400),
    ("export", "EXPORT DATABASE '/tmp/dump'", 400),
    # statements that are not queries
    ("attach", "ATTACH '/tmp/x.duckdb' AS x", 403),
    ("copy to", "COPY (SELECT 1) TO '/tmp/out.csv'", 403),
    ("install", "INSTALL httpfs", 403),
    ("load", "LOAD httpfs", 403),
    ("pragma", "PRAGMA database_list", 403),
    ("set", "SET memory_limit = '64GB'", 403),
    ("reset", "RESET enable_external_access", 403),
    ("create", "CREATE TABLE gold.x AS SELECT 1", 403),
    ("insert", "INSERT INTO gold.daily_sales VALUES (NULL, 1, 1)", 403),
    ("delete", "DELETE FROM gold.daily_sales", 403),
    ("drop", "DROP VIEW gold.daily_sales", 403),
    ("call", "CALL pragma_version()", 403),
    # functions that read files or run SQL text
    ("file read", "SELECT * FROM read_csv('/etc/passwd')", 403),
    ("file read, auto", "SELECT * FROM read_csv_auto('/etc/passwd')", 403),
    ("text read", "SELECT * FROM read_text('/etc/hostname')", 403),
    ("blob read", "SELECT * FROM read_blob('/etc/hostname')", 403),
    ("parquet read", "SELECT * FROM read_parquet('/tmp/*.parquet')", 403),
    ("json read", "SELECT * FROM read_json('/tmp/x.json')", 403),
    ("glob", "SELECT * FROM glob('/etc/*')", 403),
    ("sql as text", "SELECT * FROM query('SELECT 1')", 403),
    ("subquery file read", "SELECT (SELECT count(*) FROM read_csv('/etc/passwd'))", 403),
    ("cte file read", "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", 403),
    ("zoned file read", "SELECT * FROM gold.read_csv('/etc/passwd')", 403),
    ("unknown table function", "SELECT * FROM sniff_csv('/etc/passwd')", 403),
    # zones
    ("zone the role lacks", "SELECT * FROM silver.orders", 403),
    ("quarantine for analyst", "SELECT * FROM quarantine.orders", 403),
    ("zone in a subquery", "SELECT * FROM gold.daily_sales WHERE EXISTS (FROM silver.orders)", 403),
    ("table without zone", "SELECT * FROM daily_sales", 403),
    ("catalog trick", "SELECT * FROM memory.gold.daily_sales", 403),
    # a CTE of the same name in another scope does not make a name a CTE (once a bypass)
    (
        "cte shadowing in a derived table",
        "SELECT name, sql FROM sqlite_master, (WITH sqlite_master AS (SELECT 1) SELECT 1) t",
        403,
    ),
    (
        "cte shadowing in a scalar subquery",
        "SELECT (WITH sqlite_master AS (SELECT 1) SELECT 1), sql FROM sqlite_master",
        403,
    ),
    (
        "cte shadowing inside another cte",
        "WITH a AS (WITH sqlite_master AS (SELECT 1) SELECT 1) SELECT sql FROM sqlite_master, a",
        403,
    ),
    (
        "cte defined after its use",
        "WITH a AS (SELECT sql FROM sqlite_master), sqlite_master AS (SELECT 1) SELECT * FROM a",
        403,
    ),
    (
        "cte shadowing a quoted gold path",
        "SELECT * FROM '{lake}/gold/daily_sales/*.parquet', "
        '(WITH "{lake}/gold/daily_sales/*.parquet" AS (SELECT 1) SELECT 1) t',
        403,
    ),
    # the catalog: view definitions and settings carry the lake's absolute paths
    ("sqlite_master", "SELECT sql FROM sqlite_master", 403),
    ("sqlite_master in main", "SELECT sql FROM main.sqlite_master", 403),
    ("sqlite_master in system", "SELECT sql FROM system.main.sqlite_master", 403),
    ("duckdb_views()", "SELECT sql FROM duckdb_views()", 403),
    ("duckdb_settings()", "SELECT * FROM duckdb_settings()", 403),
    ("duckdb_tables() in a filter", "SELECT 1 WHERE EXISTS (FROM duckdb_tables())", 403),
    ("information_schema.views", "SELECT view_definition FROM information_schema.views", 403),
    ("pg_catalog views", "SELECT definition FROM pg_catalog.pg_views", 403),
    ("pg_get_viewdef", "SELECT pg_get_viewdef(1)", 403),
    ("pragma function", "SELECT * FROM pragma_table_info('gold.daily_sales')", 403),
    ("settings function", "SELECT current_setting('allowed_directories')", 403),
    # quoted file paths, inside and outside the role's zones, with `..`, through symlinks
    ("quoted path outside the lake", "SELECT * FROM '/etc/passwd'", 403),
    ("quoted path in the role's zone", "SELECT * FROM '{lake}/gold/daily_sales/*.parquet'", 403),
    ("quoted path in another zone", "SELECT * FROM '{lake}/silver/orders/*.parquet'", 403),
    ("quoted path with ..", "SELECT * FROM '{lake}/gold/../silver/orders/*.parquet'", 403),
    ("read with ..", "SELECT * FROM read_parquet('{lake}/gold/../silver/orders/*.parquet')", 403),
    ("path as a gold table", 'SELECT * FROM gold."{lake}/silver/orders/x.parquet"', 400),
    (".. as a gold table", 'SELECT * FROM gold."../silver/orders"', 400),
    ("symlink to silver", "SELECT * FROM '{lake}/gold/leak.csv'", 403),
    ("symlink out of the lake", "SELECT * FROM read_csv('{lake}/gold/outside.csv')", 403),
    ("the server's temp folder", "SELECT * FROM read_csv('.tmp/spilled.csv')", 403),
]


@pytest.fixture(scope="module")
def hostile_lake(shared_lake):
    """The lake plus bait: a silver canary, one outside the lake, symlinks to both from gold/,
    and a file in the server's temp folder (its working directory's .tmp/, where DuckDB spills
    by default)."""
    project, runs, tokens, client = shared_lake
    root = project.root / "lake"
    (root / "silver" / "canary.csv").write_text("canary\nSILVER-CANARY\n")
    outside = project.root.parent / "outside"
    outside.mkdir()
    (outside / "canary.csv").write_text("canary\nOUTSIDE-CANARY\n")
    os.symlink(root / "silver" / "canary.csv", root / "gold" / "leak.csv")
    os.symlink(outside / "canary.csv", root / "gold" / "outside.csv")
    (project.root / ".tmp").mkdir()
    (project.root / ".tmp" / "spilled.csv").write_text("canary\nSPILLED-CANARY\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project.root)
        yield project, runs, tokens, client


@pytest.mark.parametrize(("what", "sql", "status"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_queries_get_a_4xx_with_a_message_and_read_nothing(hostile_lake, what, sql, status):
    project, _, tokens, client = hostile_lake
    lake = str((project.root / "lake").resolve())

    body = json.dumps({"sql": sql.format(lake=lake)})  # ASCII: "\\ud800" stays a lone surrogate
    headers = as_role(tokens, "analyst") | {"Content-Type": "application/json"}

    answer = client.post("/api/query", headers=headers, content=body)

    assert answer.status_code == status, (what, answer.text)
    assert answer.json()["detail"].strip()
    for leak in ("CANARY", "root:", SECRET, lake, "read_parquet(["):
        assert leak not in answer.text, (what, leak, answer.text)


def test_the_query_page_answers_a_malformed_query_with_400_and_its_reason(lake):
    _, _, tokens, client = lake
    client.post("/login", data={"token": tokens["analyst"]})
    csrf = client.get("/query").text.split('name="csrf" value="')[1].split('"')[0]

    unclosed = client.post("/query", data={"sql": "SELECT 'abc", "csrf": csrf})
    nested = client.post("/query", data={"sql": NESTED, "csrf": csrf})
    denied = client.post("/query", data={"sql": "SELECT * FROM silver.orders", "csrf": csrf})

    assert unclosed.status_code == 400 and "not valid SQL" in unclosed.text
    assert nested.status_code == 400 and "nests 50 levels deep" in nested.text
    assert denied.status_code == 403 and "may not see the silver zone" in denied.text


FINE = [
    ("a cte", "WITH s AS (SELECT 1 AS x) SELECT x FROM s", [(1,)]),
    (
        "a cte named like a catalog table",
        "WITH sqlite_master AS (SELECT 2 AS x) FROM sqlite_master",
        [(2,)],
    ),
    ("a cte used in a nested scope", "WITH s AS (SELECT 3 AS x) SELECT (SELECT x FROM s)", [(3,)]),
    ("a later cte using an earlier", "WITH a AS (SELECT 4 AS x), b AS (FROM a) FROM b", [(4,)]),
    ("case does not matter", "WITH S AS (SELECT 5 AS x) FROM s", [(5,)]),
    (
        "a recursive cte",
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
        "SELECT max(n) FROM r",
        [(3,)],
    ),
    ("range", "SELECT count(*) FROM range(10)", [(10,)]),
    ("a zone's table", "SELECT orders FROM gold.daily_sales", [(1,)]),
    ("32 nested parentheses", "SELECT " + "(" * 32 + "6" + ")" * 32, [(6,)]),
    (
        "the catalog lists the role's tables only",
        "SELECT table_schema, table_name FROM information_schema.tables",
        [("gold", "daily_sales")],
    ),
    ("pg_typeof", "SELECT pg_typeof(1)", [("integer",)]),
]


@pytest.mark.parametrize(("what", "sql", "rows"), FINE, ids=[f[0] for f in FINE])
def test_queries_that_must_keep_working(shared_lake, what, sql, rows):
    _, _, tokens, client = shared_lake

    answer = client.post("/api/query", headers=as_role(tokens, "analyst"), json={"sql": sql})

    assert answer.status_code == 200, answer.text
    assert [tuple(r) for r in answer.json()["rows"]] == rows


def sandbox(project):
    users = Users(project.pipeline)
    admin = users.local_admin()
    return Console(project.pipeline, local_ports(project.pipeline), admin, users).sandbox()


def test_the_engine_itself_refuses_files_even_if_a_check_missed_them(hostile_lake):
    project, _, _, _ = hostile_lake
    lake = (project.root / "lake").resolve()

    with sandbox(project) as engine:  # the locked DuckDB alone, without the SQL check in front
        for sql in (
            "SELECT * FROM read_csv('/etc/passwd')",
            "SET enable_external_access = true",
            "ATTACH '/tmp/z.duckdb' AS z",
            "COPY (SELECT 1) TO '/tmp/z.csv'",
            f"SELECT * FROM read_csv('{lake}/gold/outside.csv')",  # a symlink out of the lake
            f"SELECT * FROM read_csv('{lake}/gold/../../outside/canary.csv')",
            "SELECT * FROM read_csv('.tmp/spilled.csv')",  # the server's shared temp folder
            f"SELECT * FROM read_csv('{project.root}/.tmp/spilled.csv')",
        ):
            with pytest.raises(duckdb.Error, match=r"(disabled|locked)"):
                engine.con.execute(sql)


def test_each_console_query_spills_into_a_fresh_folder_of_its_own(hostile_lake):
    project, _, _, _ = hostile_lake  # the server's working directory has a .tmp/ with a file

    with sandbox(project) as first, sandbox(project) as second:
        spills = [
            Path(e.con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
            for e in (first, second)
        ]
        allowed = first.con.execute("SELECT current_setting('allowed_directories')").fetchone()
        with pytest.raises(duckdb.Error, match="disabled"):
            first.con.execute(f"SELECT * FROM glob('{spills[1]}/*')")  # the other's spills

    assert spills[0] != spills[1] and ".tmp" not in str(spills)
    assert not any(".tmp" in d or str(spills[1]) in d for d in allowed[0])
    assert not spills[0].exists() and not spills[1].exists()  # removed with their queries


def test_a_huge_cross_join_is_stopped_by_the_time_limit(shared_lake):
    project, _, _, _ = shared_lake
    users = Users(project.pipeline)
    console = Console(project.pipeline, local_ports(project.pipeline), users.local_admin(), users)

    with pytest.raises(BadQuery, match="stopped after the 1 s time limit"):
        console.run("SELECT count(*) FROM range(100000000) a, range(100000000) b", limit_s=1)
