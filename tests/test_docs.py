"""Every command and every setting is documented (datasette's test_docs, in small)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from medalist.cli import app
from medalist.config import (
    AccessSpec,
    ColumnSpec,
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
]
SETTINGS = [(m.__name__, f) for m in MODELS for f in m.model_fields if f != "base_dir"]


@pytest.mark.parametrize("command", COMMANDS, ids=COMMANDS)
def test_every_command_is_in_the_cli_reference(command):
    assert f"`medalist {command}" in (DOCS / "cli.md").read_text()


@pytest.mark.parametrize("setting", SETTINGS, ids=[f"{m}.{f}" for m, f in SETTINGS])
def test_every_setting_is_in_the_configuration_reference(setting):
    assert f"`{setting[1]}`" in (DOCS / "configuration.md").read_text()
