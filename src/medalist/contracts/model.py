"""Checks across pipeline.yaml that one field alone cannot make."""

from __future__ import annotations

from medalist.config import Pipeline, is_identifier
from medalist.errors import ConfigError
from medalist.gold import model_order


def check_pipeline(pipeline: Pipeline, path: str) -> None:
    """Raise one ConfigError listing every cross-field problem, each with its key path."""
    problems: list[str] = []
    if not pipeline.datasets:
        problems.append("datasets: declare at least one dataset")
    for name, dataset in pipeline.datasets.items():
        key = f"datasets.{name}"
        if not is_identifier(name):
            problems.append(f"{key}: names must be lower_snake_case (they become table names)")
        if name in pipeline.models:
            problems.append(f"{key}: a model has the same name; rename one of them")
        if not dataset.columns:
            problems.append(f"{key}.columns: declare at least one column")
        for key_col in dataset.primary_key:
            if key_col not in dataset.columns:
                problems.append(
                    f"{key}.primary_key: {key_col!r} is not one of the columns "
                    f"({', '.join(dataset.columns)})"
                )
        for col_name, col in dataset.columns.items():
            ctype = col.column_type
            for bound in ("min", "max"):
                if getattr(col, bound) is not None and ctype.name in ("boolean", "varchar"):
                    problems.append(
                        f"{key}.columns.{col_name}.{bound}: not meaningful for "
                        f"{ctype}; use accepted: [...] instead"
                    )
    for name, model in pipeline.models.items():
        key = f"models.{name}"
        if not is_identifier(name):
            problems.append(f"{key}: names must be lower_snake_case (they become table names)")
        if model.load_mode == "append":
            problems.append(
                f"{key}.load: models are rebuilt whole on every run, so append would "
                "duplicate them; use merge (with primary_key) or replace"
            )
    if not problems:
        try:
            model_order(pipeline)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems), path=path)
