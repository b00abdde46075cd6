"""Every error medalist raises on purpose.

Errors carry fields (path, row, column, rule, state, fix) instead of pre-baked text, so the CLI,
the run log and notifications all render them the same way. Retry logic looks at the class
(`TransientError` vs `TerminalError`), never at the message.
"""

from __future__ import annotations

from typing import Any


class MedalistError(Exception):
    """Base class. `str(err)` is the full, actionable message."""

    kind = "terminal"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        path: str | None = None,
        row: int | None = None,
        column: str | None = None,
        rule: str | None = None,
        state: str | None = None,
    ) -> None:
        self.message = message
        self.fix = fix
        self.path = path
        self.row = row
        self.column = column
        self.rule = rule
        self.state = state
        super().__init__(message)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The run log's `error` field."""
        return {
            "state": self.state,
            "kind": self.kind,
            "message": self.render(),
            "file": self.path,
            "row": self.row,
            "column": self.column,
            "rule": self.rule,
            "fix": self.fix,
        }


class TransientError(MedalistError):
    """Worth retrying: throttling, connection resets, destination unavailable."""

    kind = "transient"


class TerminalError(MedalistError):
    """Retrying cannot help: the input or the configuration must change."""


class ConfigError(TerminalError):
    """pipeline.yaml is missing or wrong. Exit code 2 (usage)."""

    exit_code = 2


class NotFound(TerminalError):
    """A run, dataset or file named on the command line does not exist. Exit code 2."""

    exit_code = 2


class Refused(TerminalError):
    """A command cannot do what was asked in the current state (e.g. retry a SUCCEEDED run).
    Exit code 2."""

    exit_code = 2


class InputError(TerminalError):
    """A landed file cannot be read or breaks its contract as a whole."""


class DestinationUnavailable(TransientError):
    """The destination database cannot be reached right now."""


def as_medalist_error(exc: BaseException, state: str | None = None) -> MedalistError:
    """Wrap an unexpected exception so the run log still gets a structured error."""
    if isinstance(exc, MedalistError):
        if state and not exc.state:
            exc.state = state
        return exc
    wrapped = TerminalError(f"{type(exc).__name__}: {exc}", state=state)
    wrapped.__cause__ = exc
    return wrapped
