"""pipeline.yaml: typed, validated, and explained when wrong.

Every field has a description; `medalist validate` and the docs are built from these models.
Errors name the file, the key path and the fix (with a did-you-mean for typos).
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import re
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from medalist.aws import AwsTarget, aws_error
from medalist.conditions import parse as parse_condition
from medalist.errors import ConfigError
from medalist.locations import is_s3, parse_dynamodb, parse_glue, parse_s3
from medalist.types import ALL_TYPE_NAMES, ColumnType, suggested_type

CONFIG_ENV = "MEDALIST_CONFIG"
STATE_DIR_ENV = "MEDALIST_STATE_DIR"  # local state of a lake on S3 (decision 0019)
DEFAULT_CONFIG = "pipeline.yaml"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class Format(StrEnum):
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"
    json = "json"
    parquet = "parquet"


class LoadMode(StrEnum):
    merge = "merge"
    append = "append"
    replace = "replace"  # type: ignore[assignment]  # the member, not str.replace
    none = "none"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(Strict):
    """One column of a dataset's contract."""

    type: str = Field(
        "varchar",
        description="boolean, integer, bigint, double, decimal(p,s), "
        "varchar, date, timestamp or timestamptz.",
    )
    required: bool = Field(False, description="A row with no value here is quarantined.")
    min: float | int | str | None = Field(None, description="Smallest accepted value.")
    max: float | int | str | None = Field(None, description="Largest accepted value.")
    accepted: list[str | int | float] | None = Field(
        None, description="The only values accepted; others are quarantined."
    )
    unique: bool = Field(False, description="No two rows may share a value (also across files).")
    pattern: str | None = Field(
        None, description="Regular expression (RE2) the whole text value must match."
    )
    min_length: int | None = Field(None, ge=0, description="Fewest characters allowed.")
    max_length: int | None = Field(None, ge=0, description="Most characters allowed.")
    format: str | list[str] | None = Field(
        None, description="strptime format(s) of a date or timestamp, e.g. '%d/%m/%Y'."
    )
    references: str | None = Field(
        None, description="dataset.column of another dataset whose silver must hold the value."
    )
    description: str | None = Field(None, description="What the column means (documentation).")

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        try:
            return str(ColumnType.parse(value))
        except ValueError as exc:
            alias = suggested_type(value)
            hint = (
                f". Did you mean {alias!r}?"
                if alias
                else _did_you_mean(value.lower(), ALL_TYPE_NAMES)
            )
            raise ValueError(f"{exc}. Use one of {', '.join(ALL_TYPE_NAMES)}{hint}") from None

    @field_validator("min", "max", "accepted", mode="before")
    @classmethod
    def _dates_as_text(cls, value: Any) -> Any:
        """YAML reads `min: 2026-01-01` as a date: keep it as the ISO text the rule casts."""
        if isinstance(value, list):
            return [v.isoformat() if isinstance(v, date | datetime) else v for v in value]
        return value.isoformat() if isinstance(value, date | datetime) else value

    @property
    def column_type(self) -> ColumnType:
        return ColumnType.parse(self.type)


class OnFail(StrEnum):
    quarantine = "quarantine"
    warn = "warn"
    fail = "fail"


class DriftPolicy(StrEnum):
    fail = "fail"
    evolve = "evolve"
    ignore = "ignore"


class RowRule(Strict):
    """A row-level SQL check over the contract's columns."""

    name: str = Field(description="Rule name, as it appears in _rules and counts.")
    check: str = Field(description="DuckDB SQL expression true for a good row (NULL passes).")
    on_fail: OnFail = Field(
        OnFail.quarantine,
        description="quarantine the row, warn (keep and count), or fail the file.",
    )


class CsvOptions(Strict):
    """How to read a CSV file; what is not given is detected."""

    delimiter: str | None = Field(None, description="Field separator; default sniffed.")
    quote: str = Field('"', description="Quote character.")
    escape: str | None = Field(None, description="Escape character inside quotes; default quote.")
    header: bool = Field(True, description="Whether the first row names the columns.")
    encoding: Literal["utf-8", "latin-1", "utf-16"] = Field(
        "utf-8", description="utf-8 (a BOM is skipped), latin-1 or utf-16."
    )
    decimal_separator: Literal[".", ","] = Field(".", description="In numbers: . or ,")
    null_values: list[str] = Field(
        default_factory=lambda: [""], description="Texts that mean missing."
    )
    skip_rows: int = Field(0, ge=0, description="Lines to skip before the header.")


# Airbyte's documented output columns (destinations v2): with `preset: airbyte` they join the
# contract as optional columns, so they neither trip drift nor get lost.
AIRBYTE_COLUMNS: dict[str, dict[str, str]] = {
    "_airbyte_raw_id": {"type": "varchar"},
    "_airbyte_extracted_at": {"type": "timestamptz"},
    "_airbyte_meta": {"type": "varchar"},
    "_airbyte_generation_id": {"type": "bigint"},
}


class DatasetSpec(Strict):
    """A source of files in landing and the contract they must meet."""

    source: str = Field(description="Glob under <lake>/landing/, e.g. orders/*.csv.")
    format: Format | None = Field(
        None,
        description="csv, tsv, jsonl, json or parquet; "
        "default from the file extension (.gz allowed).",
    )
    primary_key: list[str] = Field(
        default_factory=list, description="Columns that identify a row; duplicates keep the latest."
    )
    columns: dict[str, ColumnSpec] = Field(description="The data contract, column by column.")
    load: LoadMode | None = Field(
        None, description="merge (default with a key), append (default without), replace, or none."
    )
    rules: list[RowRule] = Field(default_factory=list, description="Row-level SQL checks.")
    max_bad_rows: int | str | None = Field(
        None, description="Most rows quarantine may take before the file FAILs: 100 or '5%'."
    )
    on_schema_drift: DriftPolicy = Field(
        DriftPolicy.ignore,
        description="When the file's columns differ from the contract: fail, evolve or ignore.",
    )
    csv: CsvOptions = Field(
        default_factory=lambda: CsvOptions.model_validate({}),
        description="CSV/TSV reading options.",
    )
    preset: Literal["airbyte"] | None = Field(
        None,
        description="airbyte: files from Airbyte; its _airbyte_* columns join the contract and "
        "_airbyte_extracted_at orders latest wins.",
    )

    @model_validator(mode="before")
    @classmethod
    def _preset_columns(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") == "airbyte":
            columns = dict(data.get("columns") or {})
            extra = {k: v for k, v in AIRBYTE_COLUMNS.items() if k not in columns}
            data = {**data, "columns": {**columns, **extra}}
        return data

    @property
    def order_column(self) -> str | None:
        """The column whose highest value wins among rows sharing a key (else the last row)."""
        return "_airbyte_extracted_at" if self.preset == "airbyte" else None

    @field_validator("max_bad_rows")
    @classmethod
    def _ceiling(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, str) and not re.fullmatch(r"\d+(\.\d+)?%", value.strip()):
            raise ValueError(f"{value!r} is neither a number of rows nor a percentage like '5%'")
        if isinstance(value, int) and value < 0:
            raise ValueError("must be 0 or more")
        return value

    def bad_rows_allowed(self, rows_in: int) -> int | None:
        """The ceiling for a file of `rows_in` rows; None when there is none."""
        if self.max_bad_rows is None:
            return None
        if isinstance(self.max_bad_rows, int):
            return self.max_bad_rows
        return int(rows_in * float(self.max_bad_rows.strip().rstrip("%")) / 100)

    @property
    def load_mode(self) -> LoadMode:
        if self.load is not None:
            return self.load
        return LoadMode.merge if self.primary_key else LoadMode.append


class ModelSpec(Strict):
    """A gold table: SQL over silver.<dataset> and gold.<model>."""

    sql: str = Field(description="One SELECT in DuckDB SQL.")
    primary_key: list[str] = Field(default_factory=list, description="Key for merge loads.")
    load: LoadMode | None = Field(
        None, description="merge (default with a key), replace (default without), or none."
    )
    run_in: Literal["engine", "destination"] = Field(
        "engine",
        description="engine: built in the lake by DuckDB, then loaded; destination: the SQL, "
        "translated to the destination's dialect, runs inside it during Load (ELT).",
    )

    @property
    def load_mode(self) -> LoadMode:
        if self.load is not None:
            return self.load
        return LoadMode.merge if self.primary_key else LoadMode.replace


Outcome = Literal["success", "warn", "failure"]
_BOTH: tuple[Outcome, ...] = ("success", "warn", "failure")


class Channel(Strict):
    """What every alert channel has: a name, and which runs it hears about."""

    name: str | None = Field(None, description="Channel name in the outbox; default its type.")
    on: list[Outcome] = Field(
        default_factory=lambda: list(_BOTH),
        description="Which outcomes to send: success (every SUCCEEDED run, WARN ones too), "
        "warn (SUCCEEDED runs that need a look) and failure; default all.",
    )
    when: str | None = Field(
        None, description="Only when this holds, e.g. 'quarantined_ratio > 0.01'."
    )

    @field_validator("when")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None:
            parse_condition(value)
        return value


class ConsoleNotification(Channel):
    type: Literal["console"]


class FileNotification(Channel):
    type: Literal["file"]
    path: str | None = Field(
        None, description="JSON lines file; default <lake>/_medalist/notifications.jsonl."
    )


class WebhookNotification(Channel):
    type: Literal["webhook"]
    url: str = Field(description="http(s) URL that receives a POST per alert.")
    format: Literal["json", "slack"] = Field(
        "json", description="json: the whole message; slack: a Slack-compatible text message."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers (e.g. Authorization: ${TOKEN})."
    )
    timeout_s: float = Field(10.0, gt=0, description="Seconds before a POST counts as failed.")


class EmailNotification(Channel):
    type: Literal["email"]
    smtp: str = Field(description="smtp://host:port of the mail server.")
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS.")
    username: str | None = Field(None, description="SMTP login, e.g. ${SMTP_USER}.")
    password: str | None = Field(None, description="SMTP password, e.g. ${SMTP_PASSWORD}.")
    sender: str = Field("medalist@localhost", description="The From address.")
    to: list[str] = Field(description="Recipients.")

    @field_validator("smtp")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if not re.fullmatch(r"smtp://[^/:]+(:\d+)?/?", value):
            raise ValueError(f"{value!r} is not smtp://host:port")
        return value


_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")


class SnsNotification(Channel):
    type: Literal["sns"]
    topic_arn: str = Field(
        description="arn:aws:sns:REGION:ACCOUNT:TOPIC that gets a publish per alert; it must "
        "exist (medalist never creates it). Its region is the one used."
    )

    @field_validator("topic_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not _TOPIC_ARN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an SNS topic ARN (arn:aws:sns:eu-west-1:123456789012:alerts)"
            )
        return value

    @property
    def region(self) -> str:
        match = _TOPIC_ARN.fullmatch(self.topic_arn)
        assert match is not None  # checked on load
        return match[1]


NotificationSpec = Annotated[
    ConsoleNotification
    | FileNotification
    | WebhookNotification
    | EmailNotification
    | SnsNotification,
    Field(discriminator="type"),
]
CHANNEL_TYPES: tuple[type[Channel], ...] = (
    ConsoleNotification,
    FileNotification,
    WebhookNotification,
    EmailNotification,
    SnsNotification,
)


class TriggerSpec(Strict):
    """What starts runs under `medalist serve` / `medalist watch`."""

    mode: Literal["event", "schedule", "both"] = Field(
        "event", description="event: when a file lands; schedule: on the cron; both."
    )
    schedule: str | None = Field(None, description="Cron expression, e.g. '0 2 * * *'.")
    timezone: str = Field("UTC", description="IANA time zone the schedule is read in.")
    settle_seconds: float = Field(
        5.0, ge=0, description="A file counts as landed once unmodified this long."
    )
    poll_seconds: float = Field(
        5.0, gt=0, description="How often landing is scanned when file events are missed."
    )

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from cronsim import CronSim, CronSimError

            try:
                CronSim(value, datetime.now(UTC))
            except CronSimError as exc:
                raise ValueError(f"{value!r} is not a cron expression: {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. UTC, Asia/Bangkok)") from None
        return value

    @model_validator(mode="after")
    def _schedule_needed(self) -> TriggerSpec:
        if self.mode != "event" and self.schedule is None:
            raise ValueError(f"mode {self.mode} needs a schedule (a cron expression)")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SourceTable(Strict):
    """One table of a source database and the dataset its rows land as."""

    dataset: str = Field(description="Dataset whose landing folder receives the Parquet files.")
    cursor: str | None = Field(
        None, description="Monotonic column (updated_at, id): extract only rows past the last."
    )
    mode: Literal["incremental", "full"] | None = Field(
        None, description="incremental (the default; needs a cursor) or full: a snapshot each time."
    )
    table: str | None = Field(None, description="Name in the database (schema.name); default key.")
    rows_per_file: int = Field(
        1_000_000, gt=0, description="Rows per landed file (cut only between cursor values)."
    )

    @model_validator(mode="after")
    def _mode(self) -> SourceTable:
        if self.mode != "full" and self.cursor is None:
            raise ValueError(
                "incremental needs a cursor column (cursor: updated_at), or set mode: full"
            )
        if self.mode == "full" and self.cursor is not None:
            raise ValueError("mode full takes no cursor; drop one of them")
        return self

    @property
    def extract_mode(self) -> Literal["incremental", "full"]:
        return self.mode or "incremental"


class SourceSpec(Strict):
    """A database that `medalist extract NAME` copies tables from into landing (the DMS part)."""

    url: str = Field(description="postgresql://… or mysql://… (MariaDB too); ${ENV} for secrets.")
    tables: dict[str, SourceTable] = Field(description="Tables by name.")
    schedule: str | None = Field(None, description="Cron expression for medalist serve.")

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if value.split("://")[0] not in ("postgresql", "postgres", "mysql", "mariadb"):
            raise ValueError(f"{value.split('@')[-1]!r}: use a postgresql:// or mysql:// URL")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return TriggerSpec._cron(value)  # type: ignore[call-arg]  # the same check as trigger's


ZoneName = Literal["landing", "silver", "gold", "quarantine"]
ALL_ZONES: tuple[ZoneName, ...] = ("landing", "silver", "gold", "quarantine")


class RoleSpec(Strict):
    """What one role may see and do (IAM policies per zone in the AWS design)."""

    zones: list[ZoneName] | Literal["all"] = Field(
        description="Zones its queries and pages may read, or all."
    )
    operate: bool = Field(False, description="May retry runs from the dashboard.")
    upload: list[str] | Literal["all"] = Field(
        default_factory=list,
        description="Datasets whose landing it may write: the upload API, presigned upload "
        "URLs, its IAM role's landing prefixes; or all.",
    )

    @property
    def zone_set(self) -> frozenset[str]:
        return frozenset(ALL_ZONES if self.zones == "all" else self.zones)

    def may_upload(self, dataset: str) -> bool:
        """Whether it may write landing/<dataset>/ (uploads only: no reading)."""
        return self.upload == "all" or dataset in self.upload


def _default_roles() -> dict[str, RoleSpec]:
    return {
        "analyst": RoleSpec.model_validate({"zones": ["gold"]}),
        "engineer": RoleSpec.model_validate({"zones": list(ALL_ZONES), "operate": True}),
        "admin": RoleSpec.model_validate({"zones": "all", "operate": True, "upload": "all"}),
    }


class AccessSpec(Strict):
    roles: dict[str, RoleSpec] = Field(
        default_factory=_default_roles,
        description="Roles by name (default analyst/engineer/admin).",
    )
    max_upload_bytes: int = Field(
        1 << 30, ge=1, description="Largest file the upload API takes (default 1 GiB)."
    )


class AwsSpec(Strict):
    """How the AWS adapters reach AWS (credentials come from the standard chain, never here)."""

    region: str | None = Field(
        None, description="AWS region, e.g. eu-west-1; default from AWS_REGION or the profile."
    )
    endpoint_url: str | None = Field(
        None,
        description="An S3-compatible store (MinIO, Ceph, R2) or a local AWS emulator, "
        "e.g. http://127.0.0.1:9000; default AWS itself.",
    )

    @field_validator("endpoint_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s)://host:port URL")
        return value


class ZonesSpec(Strict):
    """One S3 location per zone (the AWS design's layout: a bucket per zone, IAM per bucket)."""

    landing: str | None = Field(None, description="s3://bucket/prefix of landing.")
    silver: str | None = Field(None, description="s3://bucket/prefix of silver.")
    gold: str | None = Field(None, description="s3://bucket/prefix of gold.")
    quarantine: str | None = Field(None, description="s3://bucket/prefix of quarantine.")

    @field_validator("landing", "silver", "gold", "quarantine")
    @classmethod
    def _s3(cls, value: str | None) -> str | None:
        if value is not None:
            parse_s3(value)
        return value


class AttentionSpec(Strict):
    """What `run`, `serve` and alerts report as needing a person (decision 0020)."""

    warn_quarantined_share: float | None = Field(
        0.05,
        ge=0,
        le=1,
        description="A SUCCEEDED run that quarantines more than this share of its rows "
        "(0.05 = 5%) is a WARN; null never warns.",
    )
    warn_on_drift: bool = Field(
        True,
        description="A SUCCEEDED run whose file brings new columns, lacks contract columns or "
        "changes types (a new schema version) is a WARN.",
    )
    ignore_in_landing: list[str] = Field(
        default_factory=list,
        description="Globs (fnmatch, against the path under landing/; * crosses /) of files "
        "no dataset reads on purpose, e.g. README*, archive/*: not reported as unmatched.",
    )


class BatchSpec(Strict):
    """How many waiting files of one dataset one run takes together (decision 0028)."""

    max_files: int = Field(
        1000,
        ge=1,
        description="Files of one dataset validated, built into gold and loaded together when "
        "that many are waiting; each keeps its own run record, and its outcome comes when the "
        "batch ends. 1 runs every file alone.",
    )
    max_mb: float = Field(
        256,
        gt=0,
        description="A batch stops growing past this many MB of landed files; a file this big "
        "or bigger runs alone.",
    )


class CompactionSpec(Strict):
    """Silver compaction: a period's run files rewritten as one (decision 0029)."""

    max_files: int | None = Field(
        None,
        ge=2,
        description="After a `medalist run`, a dataset with more live silver files than this "
        "is compacted: each month (of arrival) holding two or more becomes one file; a file "
        "whose run was compacted can no longer be replayed alone. null (the default): only "
        "`medalist compact` compacts.",
    )


class SparkSpec(Strict):
    """The Spark cluster of `engine: spark`."""

    master: str = Field(
        "local[*]", description="local[N], spark://host:7077, yarn, k8s://…: Spark's master URL."
    )
    conf: dict[str, str] = Field(
        default_factory=dict, description="Spark settings, e.g. spark.executor.memory: 4g."
    )


class Pipeline(Strict):
    """The whole of pipeline.yaml."""

    name: str = Field(description="Pipeline name, shown in runs and alerts.")
    lake: str = Field(
        "./lake",
        description="Root of the zones: landing/ silver/ gold/ "
        "quarantine/ _medalist/. A folder (relative to pipeline.yaml) or s3://bucket/prefix.",
    )
    zones: ZonesSpec | None = Field(
        None, description="A bucket (s3://bucket/prefix) per zone, instead of lake's sub-folders."
    )
    runlog: str | None = Field(
        None,
        description="dynamodb://TABLE (created when missing); default the SQLite metastore "
        "of a local lake.",
    )
    catalog: str | None = Field(
        None, description="glue://DATABASE (created when missing); default the metastore."
    )
    aws: AwsSpec = Field(
        default_factory=lambda: AwsSpec.model_validate({}),
        description="Region and endpoint of the AWS adapters.",
    )
    destination: str | None = Field(
        None, description="postgresql://… URL or a .duckdb file; default <lake>/warehouse.duckdb."
    )
    datasets: dict[str, DatasetSpec] = Field(description="Datasets by name.")
    models: dict[str, ModelSpec] = Field(default_factory=dict, description="Gold models by name.")
    notifications: list[NotificationSpec] = Field(
        default_factory=lambda: [_console()],
        description="Where SUCCESS and FAIL messages go.",
    )
    trigger: TriggerSpec = Field(
        default_factory=lambda: TriggerSpec.model_validate({}),
        description="What starts runs under medalist serve.",
    )
    access: AccessSpec = Field(
        default_factory=lambda: AccessSpec.model_validate({}),
        description="Roles for the dashboard, API and SQL console.",
    )
    attention: AttentionSpec = Field(
        default_factory=lambda: AttentionSpec.model_validate({}),
        description="WARN thresholds and landing files to ignore (what needs a person).",
    )
    freshness_hours: float = Field(
        36.0, gt=0, description="A dataset with no successful file for this long is stale."
    )
    dashboard_url: str | None = Field(
        None, description="Base URL of the dashboard; alerts link to the run there."
    )
    memory_limit: str = Field(
        "768MB",
        description="DuckDB memory ceiling; work beyond it spills to <lake>/_medalist/tmp "
        "(always local: .medalist/tmp for a lake on S3).",
    )
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="What runs validation and gold models: duckdb (one machine) or spark (a "
        "cluster; needs medalist[spark]). docs/engines.md says when to pick which.",
    )
    spark: SparkSpec = Field(
        default_factory=lambda: SparkSpec.model_validate({}),
        description="Where Spark runs, when engine is spark.",
    )
    load_ahead_mb: float = Field(
        32,
        ge=0,
        description="Landed files at least this big (MB) start loading into a destination "
        "that can stage (PostgreSQL) while Transform writes silver; 0 for every file.",
    )
    batch: BatchSpec = Field(
        default_factory=lambda: BatchSpec.model_validate({}),
        description="Bursts of small files: how many one run takes together.",
    )
    compaction: CompactionSpec = Field(
        default_factory=lambda: CompactionSpec.model_validate({}),
        description="When silver's files of a dataset are compacted per period.",
    )
    sources: dict[str, SourceSpec] = Field(
        default_factory=dict, description="Databases to extract tables from into landing."
    )
    base_dir: Path = Field(Path("."), exclude=True, description="Folder holding pipeline.yaml.")

    @field_validator("lake")
    @classmethod
    def _lake(cls, value: str) -> str:
        if is_s3(value):
            parse_s3(value)
        elif "://" in value:
            scheme = value.split("://", 1)[0]
            raise ValueError(f"{scheme}:// is not supported; use a folder or s3://bucket/prefix")
        return value

    @field_validator("runlog")
    @classmethod
    def _runlog(cls, value: str | None) -> str | None:
        if value is not None:
            parse_dynamodb(value)
        return value

    @field_validator("catalog")
    @classmethod
    def _catalog(cls, value: str | None) -> str | None:
        if value is not None:
            parse_glue(value)
        return value

    @model_validator(mode="after")
    def _uploads(self) -> Pipeline:
        """A role's `upload:` names declared datasets."""
        for name, role in self.access.roles.items():
            wanted = [] if role.upload == "all" else role.upload
            unknown = [d for d in wanted if d not in self.datasets]
            if unknown:
                raise ValueError(
                    f"access.roles.{name}.upload: no dataset {', '.join(map(repr, unknown))}; "
                    f"declared: {', '.join(self.datasets) or 'none'}"
                )
        return self

    @model_validator(mode="after")
    def _places(self) -> Pipeline:
        """Zones all in one place, apart from each other; a shared run log for a lake on S3."""
        given = {z: u for z, u in (self.zones.model_dump() if self.zones else {}).items() if u}
        if given and not is_s3(self.lake) and len(given) < len(ALL_ZONES):
            missing = ", ".join(z for z in ALL_ZONES if z not in given)
            raise ValueError(
                f"zones: {missing} would stay in the local lake while the others are on S3; "
                "give every zone an s3:// location, or set lake: s3://bucket/prefix"
            )
        if self.lake_on_s3:
            roots = {z: parse_s3(self.zone_url(z)) for z in ALL_ZONES}
            for a, b in itertools.permutations(ALL_ZONES, 2):
                if roots[a].contains(roots[b]):
                    raise ValueError(
                        f"zones: {b} ({roots[b].url}) lies inside {a} ({roots[a].url}); "
                        "give each zone its own bucket or prefix"
                    )
            if self.runlog is None:
                raise ValueError(
                    "runlog: a lake on S3 needs a run log every machine and process can reach, "
                    "not the local SQLite file; set runlog: dynamodb://TABLE "
                    f"(e.g. dynamodb://{self.name}-runs)"
                )
        elif self.catalog is not None:
            raise ValueError(
                "catalog: glue:// needs the zones on S3 (Glue tables point at S3 locations); "
                "set lake: s3://bucket/prefix, or leave catalog out"
            )
        return self

    @property
    def lake_on_s3(self) -> bool:
        """Whether the zones are on S3 (lake: s3://… or zones: …)."""
        return is_s3(self.lake) or self.zones is not None

    def zone_url(self, zone: str) -> str:
        """Where a zone lives: its `zones:` entry, else <lake>/<zone> (a folder or s3://…)."""
        given = getattr(self.zones, zone, None) if self.zones and zone in ALL_ZONES else None
        if given:
            return parse_s3(given).url
        if is_s3(self.lake):
            return parse_s3(self.lake).child(zone).url
        return str(self.lake_path / zone)

    @property
    def lake_path(self) -> Path:
        """The local lake's folder. Code that needs it cannot work on a lake on S3: it says so."""
        if self.lake_on_s3:
            raise ConfigError(
                f"this needs a lake in a local folder, and the lake is on S3 ({self.lake})",
                fix="Run it against a local copy of the pipeline, or use the commands that "
                "support S3 (run, runs, show, retry, replay, catalog).",
            )
        return (self.base_dir / self.lake).resolve()

    @property
    def state_dir(self) -> Path:
        """Where this machine keeps the pipeline's local state: the SQLite metastore, DuckDB's
        spill files, the dashboard's users, the file channel's alerts. <lake>/_medalist for a
        local lake; for a lake on S3, .medalist/ beside pipeline.yaml, or $MEDALIST_STATE_DIR
        (a container's or Lambda's writable /tmp). Decision 0019."""
        if not self.lake_on_s3:
            return self.lake_path / "_medalist"
        given = os.environ.get(STATE_DIR_ENV)
        return Path(given).resolve() if given else (self.base_dir / ".medalist").resolve()

    @property
    def aws_target(self) -> AwsTarget:
        return AwsTarget(self.aws.region, self.aws.endpoint_url)

    @property
    def destination_url(self) -> str:
        if self.destination is None:
            if self.lake_on_s3:
                return f"duckdb:///{self.state_dir / 'warehouse.duckdb'}"
            return f"duckdb:///{self.lake_path / 'warehouse.duckdb'}"
        if "://" in self.destination:
            return self.destination
        return f"duckdb:///{(self.base_dir / self.destination).resolve()}"


def _console() -> NotificationSpec:
    return ConsoleNotification.model_validate({"type": "console"})


def resolve_config_path(given: str | Path | None) -> Path:
    """-c/--config, then $MEDALIST_CONFIG, then ./pipeline.yaml."""
    return Path(given or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def read_pipeline(path: str | Path) -> Pipeline:
    """Read, expand ${ENV} references, validate field by field. Raises ConfigError naming
    file, key and fix. Without the checks across fields (rules and models parsed with DuckDB
    and sqlglot): `medalist.loader.load_pipeline` adds them. The deployed functions read
    with this alone: `medalist aws package` validated their pipeline.yaml whole before
    shipping it, and their slim zip has neither DuckDB nor sqlglot (decision 0035)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            "no pipeline configuration here",
            path=str(path),
            fix="Pass -c PATH, set $MEDALIST_CONFIG, or create one with `medalist init NAME`.",
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"not valid YAML{line}: {getattr(exc, 'problem', exc)}", path=str(path)
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping with name, datasets, …", path=str(path))
    raw = _expand_env(raw, str(path))
    raw = _expand_secrets(raw, str(path), _SecretSource(raw.get("aws")))
    try:
        pipeline = Pipeline.model_validate({**raw, "base_dir": path.parent.resolve()})
    except ValidationError as exc:
        raise _config_error(exc, str(path)) from None
    return pipeline


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(value: Any, path: str) -> Any:
    """Secrets come from the environment: `${PG_PASSWORD}`; a missing variable is an error."""
    if isinstance(value, dict):
        return {k: _expand_env(v, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, path) for v in value]
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match[1]
            if name not in os.environ:
                raise ConfigError(
                    f"refers to ${{{name}}}, which is not set",
                    path=path,
                    fix=f"Export {name} before running medalist.",
                )
            return os.environ[name]

        return _ENV_REF.sub(sub, value)
    return value


_SECRET_REF = re.compile(r"\$\{aws-secret:([^}#]+)(?:#([^}]+))?\}")


class _SecretSource:
    """Secrets Manager, as `${aws-secret:ARN}` references reach it: each secret fetched once
    per load, in the ARN's region (else aws.region), through aws.endpoint_url when given."""

    def __init__(self, aws: Any) -> None:
        aws = aws if isinstance(aws, dict) else {}
        self.region, self.endpoint_url = aws.get("region"), aws.get("endpoint_url")
        self._fetched: dict[str, str] = {}

    def value(self, secret: str, key: str | None, path: str) -> str:
        text = self._fetched.get(secret)
        if text is None:
            text = self._fetched[secret] = self._fetch(secret, path)
        if key is None:
            return text
        try:
            fields = json.loads(text)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise ConfigError(
                f"secret {secret} is not a JSON object, so it has no key {key!r}",
                path=path,
                fix=f"Refer to the whole secret: ${{aws-secret:{secret}}}.",
            )
        if key not in fields:
            raise ConfigError(
                f"secret {secret} has no key {key!r} (it has {', '.join(sorted(fields))})",
                path=path,
                fix="Correct the key after # in pipeline.yaml, or add it to the secret.",
            )
        return str(fields[key])

    def _fetch(self, secret: str, path: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        arn = secret.split(":")
        region = arn[3] if secret.startswith("arn:") and len(arn) > 3 else self.region
        target = AwsTarget(region, self.endpoint_url)
        try:
            found = target.client("secretsmanager").get_secret_value(SecretId=secret)
        except (BotoCoreError, ClientError) as exc:
            err = aws_error(exc, f"secret {secret}", target)
            err.path = path
            raise err from None
        if "SecretString" not in found:
            raise ConfigError(
                f"secret {secret} holds binary data, not text",
                path=path,
                fix="Store the password as a text (or JSON) secret.",
            )
        return str(found["SecretString"])


def _expand_secrets(value: Any, path: str, source: _SecretSource) -> Any:
    """`${aws-secret:ARN}` (the secret's text) and `${aws-secret:ARN#key}` (one key of a JSON
    secret, as RDS keeps its credentials) from AWS Secrets Manager."""
    if isinstance(value, dict):
        return {k: _expand_secrets(v, path, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_secrets(v, path, source) for v in value]
    if isinstance(value, str) and "${aws-secret:" in value:
        return _SECRET_REF.sub(lambda m: source.value(m[1], m[2], path), value)
    return value


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f". Did you mean {close[0]!r}?" if close else ""


_CHANNEL_TAGS = ("console", "file", "webhook", "email", "sns")


def _config_error(exc: ValidationError, path: str) -> ConfigError:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        # Discriminated unions add the tag to the path (notifications.0.file.path): drop it.
        if len(loc) > 2 and loc[0] == "notifications" and loc[2] in _CHANNEL_TAGS:
            del loc[2]
        key = ".".join(loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            hint = _did_you_mean(loc[-1], allowed)
            lines.append(f"{key}: unknown key{hint or '. Allowed: ' + ', '.join(allowed)}")
        elif err["type"] == "missing":
            lines.append(f"{key}: required key is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{key}: {msg}" if key else msg)  # a model's own check names its key
    return ConfigError("; ".join(lines), path=path)


def _allowed_keys(parent: list[str]) -> list[str]:
    """The keys allowed at a key path, for did-you-mean."""
    model: type[BaseModel] = Pipeline
    steps = list(parent)
    while steps:
        step = steps.pop(0)
        if model is Pipeline and step in ("datasets", "models") and steps:
            steps.pop(0)
            model = DatasetSpec if step == "datasets" else ModelSpec
        elif model is DatasetSpec and step == "columns" and steps:
            steps.pop(0)
            model = ColumnSpec
        elif model is DatasetSpec and step == "rules" and steps:
            steps.pop(0)
            model = RowRule
        elif model is DatasetSpec and step == "csv":
            model = CsvOptions
        elif model is Pipeline and step == "notifications" and steps:
            steps.pop(0)
            return sorted({f for kind in CHANNEL_TYPES for f in kind.model_fields})
        elif model is Pipeline and step == "trigger":
            model = TriggerSpec
        elif model is Pipeline and step == "aws":
            model = AwsSpec
        elif model is Pipeline and step == "zones":
            model = ZonesSpec
        elif model is Pipeline and step == "attention":
            model = AttentionSpec
        elif model is Pipeline and step == "sources" and steps:
            steps.pop(0)
            model = SourceSpec
        elif model is SourceSpec and step == "tables" and steps:
            steps.pop(0)
            model = SourceTable
        else:
            break
    return [name for name in model.model_fields if name != "base_dir"]


def is_identifier(name: str) -> bool:
    """Dataset, model and column names become SQL identifiers: lower_snake_case."""
    return bool(_IDENT.match(name))
