"""Every command and every setting is documented (datasette's test_docs, in small)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from medalist.cli import app
from medalist.config import (
    AccessSpec,
    AttentionSpec,
    AwsSpec,
    BatchSpec,
    ColumnSpec,
    CompactionSpec,
    CsvOptions,
    DatasetSpec,
    EmailNotification,
    FileNotification,
    ModelSpec,
    Pipeline,
    RoleSpec,
    RowRule,
    SnsNotification,
    SourceSpec,
    SourceTable,
    TriggerSpec,
    WebhookNotification,
    ZonesSpec,
)

DOCS = Path(__file__).parent.parent / "docs"
COMMANDS = [c.name or c.callback.__name__ for c in app.registered_commands]
MODELS: list[type[BaseModel]] = [
    Pipeline,
    DatasetSpec,
    ColumnSpec,
    RowRule,
    CsvOptions,
    ModelSpec,
    FileNotification,
    WebhookNotification,
    EmailNotification,
    SnsNotification,
    TriggerSpec,
    SourceSpec,
    SourceTable,
    AccessSpec,
    RoleSpec,
    AwsSpec,
    ZonesSpec,
    AttentionSpec,
    BatchSpec,
    CompactionSpec,
]
SETTINGS = [(m.__name__, f) for m in MODELS for f in m.model_fields if f != "base_dir"]


@pytest.mark.parametrize("command", COMMANDS, ids=COMMANDS)
def test_every_command_is_in_the_cli_reference(command):
    assert f"`medalist {command}" in (DOCS / "cli.md").read_text()


@pytest.mark.parametrize("setting", SETTINGS, ids=[f"{m}.{f}" for m, f in SETTINGS])
def test_every_setting_is_in_the_configuration_reference(setting):
    assert f"`{setting[1]}`" in (DOCS / "configuration.md").read_text()


def _mermaid_after(marker: str, text: str) -> str:
    block = text.split(marker, 1)[1].split("```mermaid\n", 1)[1]
    return block.split("```", 1)[0]


def test_the_aws_page_diagrams_are_generated_not_drawn(tmp_path):
    from medalist.deploy.asl import state_machine
    from medalist.deploy.diagram import stack_mermaid, workflow_mermaid
    from medalist.deploy.template import template
    from medalist.loader import load_pipeline
    from medalist.scaffold import scaffold
    from medalist.workflow.definition import INGEST

    pipeline = load_pipeline(scaffold(tmp_path / "shop"))
    page = (DOCS / "aws.md").read_text()
    workflow = _mermaid_after("<!-- generated: medalist aws diagram --what workflow", page)
    stack = _mermaid_after("<!-- generated: medalist aws diagram (init", page)
    assert workflow == workflow_mermaid(state_machine(INGEST, pipeline.name, "glue"))
    assert stack == stack_mermaid(template(pipeline, "glue")), "run: medalist aws diagram"
