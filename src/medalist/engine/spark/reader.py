"""Landed files as Spark reads them: every value as delivered (text), numbered like DuckDB
numbers them (`_source_row`: the data row in the file, 1-based), lines that cannot be split
into the header's fields kept aside (`_corrupt`: the line itself)."""

from __future__ import annotations

from typing import Any

from medalist.config import Format
from medalist.engine import FileSpec
from medalist.errors import InputError

CORRUPT = "_corrupt"


def read_landed(spark: Any, file: FileSpec, columns: list[str]) -> Any:
    """A DataFrame of `columns` (as text, nested JSON flattened to parent__child), plus
    `_source_row` and, for CSV, `_corrupt`."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    url = file.url
    if file.format in (Format.csv, Format.tsv):
        csv = file.csv
        if csv.skip_rows:
            raise InputError(
                "skip_rows is not supported by engine: spark yet",
                fix="Remove the lines before the header, or use engine: duckdb.",
            )
        delimiter = csv.delimiter or file.delimiter or ("\t" if file.format == Format.tsv else ",")
        schema = T.StructType(
            [T.StructField(c, T.StringType()) for c in columns]
            + [T.StructField(CORRUPT, T.StringType())]
        )
        nulls = [v for v in csv.null_values if v != ""]
        reader = (
            spark.read.schema(schema)
            .option("header", str(csv.header).lower())
            .option("sep", delimiter)
            .option("quote", csv.quote)
            .option("escape", csv.escape or csv.quote)
            .option("encoding", csv.encoding)
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT)
            .option("enforceSchema", "true")
        )
        df = reader.csv(url)
        for value in nulls:  # DuckDB's nullstr takes a list; Spark's nullValue one text
            df = df.select(
                *[
                    F.when(F.col(c) == value, F.lit(None)).otherwise(F.col(c)).alias(c)
                    if c != CORRUPT
                    else F.col(c)
                    for c in df.columns
                ]
            )
    elif file.format in (Format.json, Format.jsonl):
        df = spark.read.option("multiLine", str(file.format == Format.json).lower()).json(url)
        df = _flattened(df, file.keep_nested)
        df = df.select(*[F.col(c).cast("string").alias(c) for c in df.columns])
        df = df.withColumn(CORRUPT, F.lit(None).cast("string"))
    else:
        df = spark.read.parquet(url)
        df = _flattened(df, file.keep_nested)
        df = df.select(*[F.col(c).cast("string").alias(c) for c in df.columns])
        df = df.withColumn(CORRUPT, F.lit(None).cast("string"))
    return numbered(df)


def numbered(df: Any) -> Any:
    """`df` with `_source_row`: its place in the file (1-based), as consecutive numbers. A
    row's id within its split plus the rows of the splits before it (splits of one file come
    in file order); the per-split counts cost one more read of the file."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    tagged = df.withColumn("_split", F.spark_partition_id()).withColumn(
        "_id", F.monotonically_increasing_id()
    )
    counts = tagged.groupBy("_split").agg(F.count(F.lit(1)).alias("_n"))
    before = counts.withColumn(
        "_before",
        F.coalesce(
            F.sum("_n").over(Window.orderBy("_split").rowsBetween(Window.unboundedPreceding, -1)),
            F.lit(0),
        ),
    ).select("_split", "_before")
    row = F.col("_id") - F.shiftleft(F.col("_split").cast("long"), 33) + F.col("_before") + 1
    joined = tagged.join(F.broadcast(before), "_split")
    return joined.select(row.alias("_source_row"), *df.columns)


def _flattened(df: Any, keep_nested: frozenset[str]) -> Any:
    """Struct columns as parent__child columns (those the contract names kept as JSON)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    columns: list[Any] = []

    def walk(expr: Any, name: str, dtype: Any) -> None:
        if not isinstance(dtype, T.StructType):
            columns.append(expr.alias(name))
        elif name in keep_nested:
            columns.append(F.to_json(expr).alias(name))
        else:
            for field in dtype.fields:
                walk(expr.getField(field.name), f"{name}__{field.name}", field.dataType)

    for field in df.schema.fields:
        walk(F.col(f"`{field.name}`"), field.name, field.dataType)
    return df.select(*columns)
