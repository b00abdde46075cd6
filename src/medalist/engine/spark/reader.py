"""Landed files as Spark reads them: every value as delivered (text), each row with its place in
the file (`_source_row`, provisional: see `rows`), lines that cannot be split into the header's
fields kept aside (`_corrupt`: the line itself, the row's values NULL).

The file is read once (decision 0040): `_source_row` is `monotonically_increasing_id`, which
grows in file order (the split in the upper bits, the row within it below) but is not
consecutive. `engine.spark.rows` turns it into DuckDB's number (the data row, 1-based) when
outputs are written, from how many rows each split held."""

from __future__ import annotations

from typing import Any

from medalist.config import Format
from medalist.engine import FileSpec

CORRUPT = "_corrupt"
ROW = "_source_row"


def read_landed(spark: Any, file: FileSpec, columns: list[str]) -> Any:
    """A DataFrame of `columns` (as text, nested JSON flattened to parent__child), plus
    `_source_row` and, for CSV, `_corrupt`."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    url = file.url
    if file.format in (Format.csv, Format.tsv):
        csv = file.csv
        delimiter = csv.delimiter or file.delimiter or ("\t" if file.format == Format.tsv else ",")
        schema = T.StructType(
            [T.StructField(c, T.StringType()) for c in columns]
            + [T.StructField(CORRUPT, T.StringType())]
        )
        # Lines before the header (skip_rows): Spark has no option to skip them, so the header
        # is read as a row too and the first `header_lines` rows are dropped below.
        header = csv.header and not csv.skip_rows
        reader = (
            spark.read.schema(schema)
            .option("header", str(header).lower())
            .option("sep", delimiter)
            .option("quote", csv.quote)
            .option("escape", csv.escape or csv.quote)
            .option("encoding", csv.encoding)
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT)
            .option("enforceSchema", "true")
        )
        df = _with_row(reader.csv(url))
        if not header and file.header_lines:  # the first split holds them (4 MB at least)
            first_split = F.col(ROW) < (1 << 33)
            df = df.where(F.col(ROW) >= file.header_lines).withColumn(
                ROW, F.when(first_split, F.col(ROW) - file.header_lines).otherwise(F.col(ROW))
            )
        # A line that does not split into the header's fields has no values (as in DuckDB,
        # where it never reaches the table): no rule looks at it, it is quarantined as such.
        kept = F.col(CORRUPT).isNull()
        df = df.select(ROW, *[F.when(kept, F.col(c)).alias(c) for c in columns], F.col(CORRUPT))
        nulls = [v for v in csv.null_values if v != ""]
        if nulls:  # DuckDB's nullstr takes a list; Spark's nullValue one text
            df = df.select(
                ROW,
                *[F.when(~F.col(c).isin(*nulls), F.col(c)).alias(c) for c in columns],
                F.col(CORRUPT),
            )
    elif file.format in (Format.json, Format.jsonl):
        df = spark.read.option("multiLine", str(file.format == Format.json).lower()).json(url)
        df = _flattened(df, file.keep_nested)
        df = df.select(*[F.col(c).cast("string").alias(c) for c in df.columns])
        df = _with_row(df).withColumn(CORRUPT, F.lit(None).cast("string"))
    else:
        df = spark.read.parquet(url)
        df = _flattened(df, file.keep_nested)
        df = df.select(*[F.col(c).cast("string").alias(c) for c in df.columns])
        df = _with_row(df).withColumn(CORRUPT, F.lit(None).cast("string"))
    return df


def _with_row(df: Any) -> Any:
    """`df` with the provisional `_source_row` first (taken before any shuffle, so the split
    is the file's)."""
    from pyspark.sql import functions as F

    return df.select(F.monotonically_increasing_id().alias(ROW), "*")


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
