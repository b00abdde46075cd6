"""One SparkSession per process, shared by every engine opened in it (the JVM starts once)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medalist.errors import ConfigError

# What medalist needs of Spark whatever the user sets: Parquet timestamps as Arrow and DuckDB
# read them, UTC, casts that give NULL rather than fail (as DuckDB's TRY_CAST), and
# java.time patterns without the legacy parser's leniency.
REQUIRED = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.sources.partitionOverwriteMode": "static",
}
DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
}
JAVA_CANDIDATES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-17-openjdk-arm64")

_lock = threading.Lock()
_session: Any = None
_key: tuple[str, tuple[tuple[str, str], ...]] | None = None


def spark_session(master: str, conf: Mapping[str, str]) -> Any:
    """The process's SparkSession for `master` and `conf` (started on first use). A second
    pipeline asking for another master or settings in the same process is refused: Spark
    has one context per JVM."""
    global _session, _key
    key = (master, tuple(sorted(conf.items())))
    with _lock:
        if _session is not None:
            if key != _key:
                raise ConfigError(
                    f"a Spark session for {_key[0] if _key else '?'} is already running in "
                    "this process; one process serves one Spark master and settings",
                    fix="Run pipelines with different `spark:` settings in separate processes.",
                )
            return _session
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ConfigError(
                "engine: spark needs PySpark, which is not installed",
                fix="pip install 'medalist[spark]' (PySpark 3.5, Java 17).",
            ) from None
        _find_java()
        builder = SparkSession.builder.master(master).appName("medalist")
        for name, value in {**DEFAULTS, **conf, **REQUIRED}.items():
            builder = builder.config(name, value)
        _session = builder.getOrCreate()
        _session.sparkContext.setLogLevel("ERROR")
        _key = key
        return _session


def stop_session() -> None:
    """Stop the process's SparkSession (the JVM goes with the process anyway)."""
    global _session, _key
    with _lock:
        if _session is not None:
            _session.stop()
        _session, _key = None, None


def _find_java() -> None:
    if os.environ.get("JAVA_HOME"):
        return
    for candidate in JAVA_CANDIDATES:
        if (Path(candidate) / "bin" / "java").exists():
            os.environ["JAVA_HOME"] = candidate
            return
    raise ConfigError(
        "engine: spark needs Java 17 (JAVA_HOME is not set and no JDK 17 was found)",
        fix="apt-get install openjdk-17-jre-headless, or set JAVA_HOME.",
    )
