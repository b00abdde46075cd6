"""One measured child process: wall seconds, CPU seconds and peak RSS as the kernel counted them
(wait4 reaps the child and hands back its rusage), its stdout, and its stderr's tail on failure.

Every benchmark that times a process goes through `timed`, so they all measure the same way.
The child writes to temporary files, not pipes: a child that fills a pipe nobody reads (64 KB
of warnings) would otherwise hang the harness while it waits in wait4.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    seconds: float  # wall clock, from start to reaping
    cpu_s: float  # user + system, the child and what it waited for
    rss_mb: float  # peak resident set (ru_maxrss)
    stdout: str


class ChildFailed(RuntimeError):
    """The measured process exited non-zero; the message ends with its stderr."""


def timed(cmd: list[str], what: str, cwd: Path | None = None) -> Measured:
    """Run `cmd` to its end and measure it; raise ChildFailed (naming `what`) if it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for its rusage
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            tail = err.read().decode(errors="replace")[-2000:]
            raise ChildFailed(f"{what} failed (exit {proc.returncode}):\n{tail}")
        return Measured(
            seconds=seconds,
            cpu_s=usage.ru_utime + usage.ru_stime,
            rss_mb=usage.ru_maxrss / 1024,
            stdout=out.read().decode(errors="replace"),
        )
