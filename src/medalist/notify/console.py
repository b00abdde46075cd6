"""Alerts on the terminal (stderr, so stdout stays clean for piping)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from medalist.config import Pipeline
from medalist.notify import headline


class ConsoleNotifier:
    def __init__(self, spec: Any, pipeline: Pipeline) -> None:
        self.console = Console(stderr=True, highlight=False)

    def send(self, message: dict[str, Any]) -> None:
        word = message.get("outcome", message["event"])
        style = {"FAIL": "bold red", "WARN": "yellow"}.get(word, "green")
        self.console.print(
            f"[{style}]{word}[/] {headline(message).split(' ', 1)[1]}"
            f"  [dim]run {message['run_id']}[/]",
            markup=True,
            soft_wrap=True,
        )
