"""The catalog in the Glue Data Catalog: one database per pipeline, a table per dataset or model
and zone (`silver_orders`, `quarantine_orders`, `gold_daily_sales`).

Two jobs, kept apart in each table:
- Schema versions (what Crawl registers): in the silver table's parameters, with our own types,
  so `versions()` gives back exactly what was registered. A new version updates the table; Glue
  keeps every table version, and `versions()` reads them back.
- What Athena reads: each table is a symlink table (decision 0018). Its location holds one
  manifest listing the objects readers see, rewritten by `publish()` right after each commit;
  its columns are the Hive types of those objects' columns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from medalist.aws import AwsTarget, aws_error
from medalist.catalog import PublishedTable, SchemaDiff, SchemaVersion
from medalist.catalog.hive import UnmappedType, hive_type
from medalist.errors import TerminalError, TransientError
from medalist.metastore import now
from medalist.storage import Storage, Zone

# Athena reads a symlink table's location as manifests (one object URL a line) and the objects
# they list as Parquet: the same table definition Delta Lake's and Hudi's Athena integrations use.
SYMLINK_INPUT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
MANIFEST = "symlink.txt"
TYPE_KEY = "medalist:type"  # a column's own type (DuckDB spelling), beside its Hive type
PREFIX = "medalist:schema."  # table parameters holding the registered schema version
ATTEMPTS = 5  # read-modify-write rounds when another writer updated the table meanwhile
T = TypeVar("T")


def table_name(zone: str, name: str) -> str:
    """`silver_orders`: one database per pipeline holds every zone's tables."""
    return f"{zone}_{name}"


def manifest_path(name: str) -> str:
    """Inside its zone, where a table's manifest lives: `_athena/<name>/symlink.txt`. Its own
    prefix (a table location reads every object under it), and in the zone's bucket, so the
    IAM that grants a zone grants its tables."""
    return f"_athena/{name}/{MANIFEST}"


class GlueCatalog:
    def __init__(self, database: str, target: AwsTarget, storage: Storage) -> None:
        self.database, self.target, self.storage = database, target, storage
        self.glue = target.client("glue")
        self._database_ready = False

    # -- schema versions ------------------------------------------------------------------

    def latest(self, dataset: str) -> SchemaVersion | None:
        table = self._get(table_name("silver", dataset))
        return _schema(dataset, table["Parameters"]) if table else None

    def register(
        self, dataset: str, columns: dict[str, str], file: str, run_id: str
    ) -> SchemaVersion:
        def change(table: dict[str, Any] | None) -> tuple[dict[str, Any] | None, SchemaVersion]:
            current = _schema(dataset, table["Parameters"]) if table else None
            if current and current.columns == columns:
                return None, current
            version = SchemaVersion(
                dataset,
                (current.version if current else 0) + 1,
                columns,
                SchemaDiff.between(current.columns if current else {}, columns),
                file,
                _to_ms(now()),
            )
            base = table or self._new_table("silver", dataset)
            params = {k: v for k, v in base["Parameters"].items() if not k.startswith(PREFIX)}
            return {**base, "Parameters": params | _schema_params(version, run_id)}, version

        return self._update(table_name("silver", dataset), change)

    def versions(self, dataset: str) -> list[SchemaVersion]:
        found: dict[int, SchemaVersion] = {}
        for item in sorted(self._table_versions(dataset), key=lambda v: int(v["VersionId"])):
            version = _schema(dataset, item["Table"].get("Parameters", {}))
            # Table versions also record publish()'s column changes: one schema version each.
            if version and version.version not in found:
                found[version.version] = version
        return [found[v] for v in sorted(found)]

    # -- what Athena reads ----------------------------------------------------------------

    def publish(self, tables: Sequence[PublishedTable]) -> None:
        for table in tables:
            # The manifest first: a column the table does not list yet is read as absent.
            self._write(self._manifest_url(table.zone, table.name), table.urls)

            def change(found: dict[str, Any] | None, table: PublishedTable = table) -> Any:
                base = found or self._new_table(table.zone, table.name)
                columns = _merge(base, table)
                if found and columns == base["StorageDescriptor"]["Columns"]:
                    return None, None
                if not found and not columns:
                    return None, None  # e.g. no quarantined row yet: no table without columns
                sd = {**base["StorageDescriptor"], "Columns": columns}
                return {**base, "StorageDescriptor": sd}, None

            self._update(table_name(table.zone, table.name), change)

    def location(self, zone: Zone, name: str) -> str:
        """The table location Athena reads the manifest from (a prefix, ending in /)."""
        return self._manifest_url(zone, name).rsplit("/", 1)[0] + "/"

    def _manifest_url(self, zone: Zone, name: str) -> str:
        return self.storage.url(zone, manifest_path(name))

    def _write(self, url: str, urls: Sequence[str]) -> None:
        """Replace the manifest in one write (an S3 PUT replaces an object atomically)."""
        text = "".join(f"{u}\n" for u in urls)
        if url.startswith("s3://"):
            bucket, _, key = url.removeprefix("s3://").partition("/")
            self._call(
                f"manifest {url}",
                lambda: self.target.client("s3").put_object(
                    Bucket=bucket, Key=key, Body=text.encode(), ContentType="text/plain"
                ),
            )
            return
        path = Path(url)  # a local lake: the same manifest, as a file
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(text)
        os.replace(partial, path)

    # -- Glue -----------------------------------------------------------------------------

    def _new_table(self, zone: Zone, name: str) -> dict[str, Any]:
        return {
            "Name": table_name(zone, name),
            "Description": f"{zone} of {name}, as published by medalist runs (decision 0018)",
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "medalist:zone": zone},
            "PartitionKeys": [],
            "StorageDescriptor": {
                "Columns": [],
                "Location": self.location(zone, name),
                "InputFormat": SYMLINK_INPUT,
                "OutputFormat": TEXT_OUTPUT,
                "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
            },
        }

    def _update(
        self, name: str, change: Callable[[dict[str, Any] | None], tuple[dict[str, Any] | None, T]]
    ) -> T:
        """Read the table, let `change` say its new definition (None: leave it), write it on
        condition that nobody updated it meanwhile (Glue's VersionId), and try again if so."""
        self._ensure_database()
        for _ in range(ATTEMPTS):
            found = self._get(name)
            new, answer = change(found)
            if new is None:
                return answer
            table_input = {k: new[k] for k in _TABLE_INPUT_KEYS if k in new}
            try:
                if found is None:
                    self.glue.create_table(DatabaseName=self.database, TableInput=table_input)
                else:
                    self.glue.update_table(
                        DatabaseName=self.database,
                        TableInput=table_input,
                        VersionId=found["VersionId"],
                    )
                return answer
            except self.glue.exceptions.AlreadyExistsException:
                continue  # created by another writer meanwhile: read it and decide again
            except self.glue.exceptions.ConcurrentModificationException:
                continue
            except Exception as exc:
                raise aws_error(exc, self._what(name), self.target) from exc
        raise TransientError(
            f"{self._what(name)} kept changing under {ATTEMPTS} attempts to update it",
            fix="Another writer is updating it too; the run's retry will try again.",
        )

    def _get(self, name: str) -> dict[str, Any] | None:
        try:
            table: dict[str, Any] = self.glue.get_table(DatabaseName=self.database, Name=name)[
                "Table"
            ]
        except self.glue.exceptions.EntityNotFoundException:
            return None
        except Exception as exc:
            raise aws_error(exc, self._what(name), self.target) from exc
        table.setdefault("Parameters", {})
        return table

    def _table_versions(self, dataset: str) -> Iterator[dict[str, Any]]:
        name = table_name("silver", dataset)
        pages = self.glue.get_paginator("get_table_versions").paginate(
            DatabaseName=self.database, TableName=name
        )
        try:
            for page in pages:
                yield from page["TableVersions"]
        except self.glue.exceptions.EntityNotFoundException:
            return
        except Exception as exc:
            raise aws_error(exc, self._what(name), self.target) from exc

    def _ensure_database(self) -> None:
        """One Glue database per pipeline, created when missing."""
        if self._database_ready:
            return
        try:  # look first: a role may read a database a stack made, yet not create one
            self.glue.get_database(Name=self.database)
        except self.glue.exceptions.EntityNotFoundException:
            pass
        except Exception as exc:
            raise aws_error(exc, f"Glue database {self.database}", self.target) from exc
        else:
            self._database_ready = True
            return
        try:
            self.glue.create_database(
                DatabaseInput={
                    "Name": self.database,
                    "Description": "Tables of a medalist pipeline: silver_*, gold_*, "
                    "quarantine_* (symlink tables, see decision 0018)",
                }
            )
        except self.glue.exceptions.AlreadyExistsException:
            pass
        except Exception as exc:
            raise aws_error(exc, f"Glue database {self.database}", self.target) from exc
        self._database_ready = True

    def _call(self, what: str, call: Callable[[], object]) -> None:
        try:
            call()
        except Exception as exc:
            raise aws_error(exc, what, self.target) from exc

    def _what(self, name: str) -> str:
        return f"Glue table {self.database}.{name}"


_TABLE_INPUT_KEYS = (
    "Name",
    "Description",
    "TableType",
    "Parameters",
    "PartitionKeys",
    "StorageDescriptor",
)


def _merge(table: dict[str, Any], published: PublishedTable) -> list[dict[str, Any]]:
    """The table's Glue columns once it holds `published`: Athena wants lower-case names and
    Hive types; our own type rides along in the column's parameters."""
    ours: dict[str, str] = {}
    if not published.exact:
        for col in table["StorageDescriptor"].get("Columns", []):
            ours[col["Name"]] = col.get("Parameters", {}).get(TYPE_KEY, col["Type"])
    for name, kind in published.columns.items():
        ours[name.lower()] = kind  # a newer file's type wins
    columns = []
    for name, kind in ours.items():
        try:
            hive = hive_type(kind)
        except UnmappedType as exc:
            raise TerminalError(
                f"{published.zone}/{published.name} column {name}: {exc}",
                fix="Cast the column to a plain type (varchar, bigint, decimal, timestamp) in "
                "the contract or the model's SQL.",
            ) from None
        columns.append({"Name": name, "Type": hive, "Parameters": {TYPE_KEY: kind}})
    return columns


def _to_ms(moment: datetime) -> datetime:
    """Stored to the millisecond: what register() returns equals what latest() reads back."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _schema_params(version: SchemaVersion, run_id: str) -> dict[str, str]:
    return {
        f"{PREFIX}version": str(version.version),
        f"{PREFIX}columns": json.dumps(version.columns),
        f"{PREFIX}diff": json.dumps(asdict(version.diff)),
        f"{PREFIX}file": version.file or "",
        f"{PREFIX}run_id": run_id,
        f"{PREFIX}created_at": version.created_at.isoformat(timespec="milliseconds"),
    }


def _schema(dataset: str, params: dict[str, str]) -> SchemaVersion | None:
    if f"{PREFIX}version" not in params:
        return None  # a table publish() made before any schema was registered
    diff = json.loads(params[f"{PREFIX}diff"])
    diff["retyped"] = {k: tuple(v) for k, v in diff["retyped"].items()}
    return SchemaVersion(
        dataset,
        int(params[f"{PREFIX}version"]),
        json.loads(params[f"{PREFIX}columns"]),
        SchemaDiff(**diff),
        params[f"{PREFIX}file"] or None,
        datetime.fromisoformat(params[f"{PREFIX}created_at"]),
    )
