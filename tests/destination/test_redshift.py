"""The Redshift destination, tested on the real PostgreSQL wherever the two speak the same SQL
(staging tables, delete + insert on the key, the transaction, types, ELT models), and as text
where they do not.

Emulator gap, written down here: no Redshift can be reached, and PostgreSQL has no
`COPY … FROM 's3://…' IAM_ROLE … FORMAT AS PARQUET`. The tests hand the adapter a copier that
records each COPY statement and fills the stage the way Redshift's Parquet COPY does (by column
position, every column of the file), from the same Parquet object. DISTKEY/SORTKEY are Redshift
only: the tests run the adapter with them off and check the clauses as text.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medalist.config import LoadMode
from medalist.controller import run_pipeline
from medalist.destination import LoadsObjects, SupportsModels, TableRef, open_destination
from medalist.destination.elt import ModelJob, run_models
from medalist.destination.redshift import RedshiftDestination, redshift_type
from medalist.errors import ConfigError, TerminalError
from medalist.runlog import Status
from medalist.wiring import local_ports
from tests.test_elt import _rows, _twins, assert_twins_equal

ROLE = "arn:aws:iam::123456789012:role/medalist-load"
URL = f"redshift://loader@shop.abc123.eu-west-1.redshift.amazonaws.com:5439/dev?iam_role={ROLE}"


class OnPostgres(RedshiftDestination):
    """The adapter connected to PostgreSQL: COPY from S3 emulated, DISTKEY/SORTKEY left out."""

    def __init__(self, pg_url: str, url: str = URL) -> None:
        self.statements: list[str] = []
        super().__init__(url, connect=pg_url, copier=self._copy)

    def _copy(self, session: Any, stage: str, url: str, statement: str) -> None:
        self.statements.append(statement)
        with duckdb.connect() as con:
            rows = con.execute(f"SELECT * FROM read_parquet('{url}')").fetchall()
        with session.conn.cursor() as cur, cur.copy(f"COPY {stage} FROM STDIN") as copy:
            for row in rows:  # by position, as Redshift maps a Parquet file's columns
                copy.write_row(row)

    def physical(self, table: TableRef, primary_key: Any) -> str:
        return ""


def silver_file(tmp_path: Path, run_id: str, rows: list[tuple[int, str, str]]) -> str:
    """A silver object of (order_id, amount, status) rows with their lineage columns."""
    path = tmp_path / f"{run_id}.parquet"
    values = ", ".join(
        f"(CAST({i} AS BIGINT), CAST('{amount}' AS DECIMAL(12,2)), '{status}', "
        "TIMESTAMP '2026-11-24 09:00:00', "
        f"'{run_id}', CAST({n} AS BIGINT))"
        for n, (i, amount, status) in enumerate(rows, 1)
    )
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * FROM (VALUES {values}) AS t(order_id, amount, status, order_ts, "
            f"_run_id, _source_row)) TO '{path}' (FORMAT parquet)"
        )
    return str(path)


def objects(*paths: str) -> list[tuple[str, pa.Schema]]:
    return [(path, pq.read_schema(path)) for path in paths]


ORDERS = TableRef("silver", "orders")


def load(dest: RedshiftDestination, mode: LoadMode, run_id: str, *paths: str) -> int:
    with dest.transaction():
        return dest.load_objects(ORDERS, objects(*paths), mode, ["order_id"], run_id)


def table(pg_url: str, sql: str = "SELECT order_id, amount, status, _run_id FROM silver.orders"):
    with psycopg.connect(pg_url) as con:
        return con.execute(sql + " ORDER BY 1").fetchall()


@pytest.fixture
def redshift(pg_url):
    dest = OnPostgres(pg_url)
    yield dest
    dest.close()


def test_merge_loads_exactly_once_and_a_late_load_never_undoes_a_later_run(
    redshift, pg_url, tmp_path
):
    first = silver_file(tmp_path, "r1", [(1, "10.00", "PAID"), (2, "20.00", "PAID")])
    second = silver_file(tmp_path, "r2", [(2, "25.00", "REFUNDED"), (3, "30.00", "PAID")])

    assert load(redshift, LoadMode.merge, "r1", first) == 2
    assert load(redshift, LoadMode.merge, "r2", second) == 2
    after = table(pg_url)
    assert after == [
        (1, Decimal("10.00"), "PAID", "r1"),
        (2, Decimal("25.00"), "REFUNDED", "r2"),
        (3, Decimal("30.00"), "PAID", "r2"),
    ]
    load(redshift, LoadMode.merge, "r2", second)  # loaded again (a retry): nothing changes
    load(redshift, LoadMode.merge, "r1", first)  # r1 again, late: r2's order 2 stays
    assert table(pg_url) == after
    assert redshift.statements[0] == (
        f"COPY \"_medalist_stage_0\" FROM '{first}' IAM_ROLE '{ROLE}' FORMAT AS PARQUET"
    )


def test_replace_from_several_objects_keeps_the_latest_row_of_each_key(redshift, pg_url, tmp_path):
    first = silver_file(tmp_path, "r1", [(1, "10.00", "PAID"), (2, "20.00", "PAID")])
    second = silver_file(tmp_path, "r2", [(2, "25.00", "REFUNDED")])
    load(redshift, LoadMode.merge, "r1", first)

    assert load(redshift, LoadMode.replace, "r3", first, second) == 3  # rows delivered
    assert table(pg_url) == [
        (1, Decimal("10.00"), "PAID", "r1"),
        (2, Decimal("25.00"), "REFUNDED", "r2"),
    ]
    assert len(redshift.statements) == 3  # one COPY per object


def test_a_failure_inside_the_load_leaves_the_table_as_it_was(redshift, pg_url, tmp_path):
    first = silver_file(tmp_path, "r1", [(1, "10.00", "PAID")])
    load(redshift, LoadMode.merge, "r1", first)
    missing = str(tmp_path / "gone.parquet")
    broken = objects(first)[0][1]
    with pytest.raises(duckdb.IOException), redshift.transaction():
        redshift.load_objects(
            ORDERS, [(first, broken), (missing, broken)], LoadMode.replace, ["order_id"], "r2"
        )
    assert table(pg_url) == [(1, Decimal("10.00"), "PAID", "r1")]


def test_tables_get_redshift_types_and_keys(redshift, pg_url, tmp_path):
    load(redshift, LoadMode.merge, "r1", silver_file(tmp_path, "r1", [(1, "1.00", "PAID")]))
    columns = table(
        pg_url,
        "SELECT column_name, data_type, character_maximum_length, numeric_precision, "
        "numeric_scale, is_nullable FROM information_schema.columns WHERE table_schema = "
        "'silver' AND table_name = 'orders'",
    )
    assert sorted(columns) == [
        ("_run_id", "character varying", 65535, None, None, "YES"),
        ("_source_row", "bigint", None, 64, 0, "YES"),
        ("amount", "numeric", None, 12, 2, "YES"),
        ("order_id", "bigint", None, 64, 0, "NO"),  # a key column: NOT NULL
        ("order_ts", "timestamp without time zone", None, None, None, "YES"),
        ("status", "character varying", 65535, None, None, "YES"),
    ]


@pytest.mark.parametrize(
    ("arrow", "expected"),
    [
        (pa.string(), "VARCHAR(65535)"),  # bytes, not characters; Redshift's TEXT is 256 bytes
        (pa.decimal128(38, 4), "DECIMAL(38,4)"),
        (pa.uint64(), "DECIMAL(20,0)"),
        (pa.timestamp("us", tz="UTC"), "TIMESTAMPTZ"),
        (pa.timestamp("us"), "TIMESTAMP"),
        (pa.float64(), "DOUBLE PRECISION"),
        (pa.int16(), "SMALLINT"),
        (pa.date32(), "DATE"),
        (pa.bool_(), "BOOLEAN"),
    ],
    ids=lambda v: str(v),
)
def test_arrow_types_map_to_redshift_types(arrow, expected):
    assert redshift_type(arrow) == expected


def test_types_redshift_cannot_hold_are_refused_with_the_fix():
    with pytest.raises(TypeError, match="wider than Redshift's 38"):
        redshift_type(pa.decimal256(50, 2))
    with pytest.raises(TypeError, match="cast it in the model's SQL"):
        redshift_type(pa.list_(pa.int32()))


def test_dist_and_sort_keys_come_from_the_primary_key_unless_configured(pg_url):
    plain = RedshiftDestination(URL, connect=pg_url)
    tuned = RedshiftDestination(
        URL + "&distkey.silver.orders=customer_id&sortkey.silver.orders=order_ts,order_id"
        "&distkey.gold.daily=all&sortkey.gold.daily=",
        connect=pg_url,
    )
    try:
        assert plain.physical(ORDERS, ["order_id"]) == (
            ' DISTKEY ("order_id") COMPOUND SORTKEY ("order_id")'
        )
        assert plain.physical(TableRef("gold", "x"), []) == " DISTSTYLE AUTO"
        assert tuned.physical(ORDERS, ["order_id"]) == (
            ' DISTKEY ("customer_id") COMPOUND SORTKEY ("order_ts", "order_id")'
        )
        assert tuned.physical(TableRef("gold", "daily"), ["day"]) == " DISTSTYLE ALL"
    finally:
        plain.close()
        tuned.close()


def test_the_url_needs_an_iam_role_and_rows_cannot_be_streamed(pg_url):
    with pytest.raises(ConfigError, match=r"Add \?iam_role=arn:aws:iam::ACCOUNT:role/NAME"):
        RedshiftDestination(URL.split("?")[0], connect=pg_url)
    dest = RedshiftDestination(URL, connect=pg_url)
    assert isinstance(dest, LoadsObjects) and isinstance(dest, SupportsModels)
    with pytest.raises(TerminalError, match="from the lake's S3 objects"):
        dest.load(
            ORDERS, pa.RecordBatchReader.from_batches(pa.schema([]), []), LoadMode.merge, [], "r"
        )
    dest.close()


def test_the_adapter_is_registered_for_redshift_urls(monkeypatch):
    # Nothing listens on this port: the registered adapter is found, and fails to connect.
    from medalist.errors import DestinationUnavailable

    monkeypatch.setenv("REDSHIFT_PASSWORD", "from-the-environment")
    url = f"redshift://loader@127.0.0.1:1/dev?iam_role={ROLE}&sslmode=disable"
    with pytest.raises(DestinationUnavailable, match="Redshift unreachable"):
        open_destination(url)


def test_models_run_in_redshift_sql_and_merge_a_runs_new_rows(redshift, pg_url, tmp_path):
    """The ELT path with the Redshift dialect, where PostgreSQL reads the same SQL."""
    job = ModelJob(
        "by_status",
        "SELECT status, count(*) AS orders, sum(amount) AS revenue FROM silver.orders GROUP BY ALL",
        LoadMode.replace,
        (),
        "t1",
    )
    first = silver_file(tmp_path, "r1", [(1, "10.00", "PAID"), (2, "20.00", "REFUNDED")])
    second = silver_file(tmp_path, "r2", [(3, "5.50", "PAID")])
    with redshift.transaction():
        redshift.load_objects(ORDERS, objects(first), LoadMode.merge, ["order_id"], "r1")
        run_models(redshift, [job], "r1", None)
    with redshift.transaction():
        redshift.load_objects(ORDERS, objects(second), LoadMode.merge, ["order_id"], "r2")
        _, merged = run_models(redshift, [job], "r2", "orders")

    assert merged == ["by_status"]
    assert table(pg_url, "SELECT status, orders, revenue FROM gold.by_status") == [
        ("PAID", 2, Decimal("15.50")),
        ("REFUNDED", 1, Decimal("20.00")),
    ]


def test_a_pipeline_loads_through_the_redshift_adapter_and_its_models_match_the_engines(
    make_project, pg_url
):
    """Load itself with the Redshift adapter (its objects, its SQL, models in its dialect):
    the lake is local here, so pipeline.yaml names PostgreSQL and the ports hand Load the
    adapter connected to it."""
    project = make_project(pg_url, models=_twins())
    opened: list[OnPostgres] = []

    def adapter() -> OnPostgres:
        opened.append(OnPostgres(pg_url))
        return opened[-1]

    def run() -> Any:
        pipeline = project.pipeline
        ports = replace(local_ports(pipeline), destination=adapter)
        (done,) = run_pipeline(pipeline, ports).runs
        assert done.status == Status.SUCCEEDED, done.error
        return done

    project.land("orders/day-1.csv", _rows(1, 30, 1))
    run()
    project.land("orders/day-2.csv", _rows(31, 30, 1))  # new keys: the models merge
    assert sorted(run().outputs["Load"]["models_merged"]) == ["by_status_elt", "daily_elt"]
    project.land("orders/day-3.csv", _rows(5, 10, 2, price="9.00"))  # corrections
    assert run().outputs["Load"]["models_merged"] == []

    assert_twins_equal(pg_url, "three runs through the Redshift adapter")
    ids = [r[0] for r in table(pg_url, "SELECT order_id FROM silver.orders")]
    assert ids == list(range(1, 61))
    assert table(pg_url, "SELECT count(*) FROM silver.orders WHERE unit_price = 9")[0][0] == 10
    copied = [s.split("'")[1] for s in opened[-1].statements]  # the last run's COPYs
    lake = project.root / "lake"
    assert copied[0].startswith(f"{lake}/silver/orders/") and len(copied) == 5
    assert {Path(c).parent.name for c in copied[1:]} == {"daily", "by_status", "average", "summary"}
