"""One Rich console and one progress-bar style for every command.

Long work (ingest of a large log, a simulation, a scan) shows a progress bar on a terminal and
stays quiet in CI or when output is piped, so logs are not filled with redraws.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def progress_enabled() -> bool:
    """Progress bars only where a person is watching."""
    if os.environ.get("CI") or os.environ.get("DISTILLWATCH_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A Rich progress bar writing to stderr; disabled (but still usable) when not a TTY."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not progress_enabled(),
        transient=False,
    )
    with bar:
        yield bar


def fail(message: str, code: int = 2) -> None:
    """Print a clear error and leave with a non-zero exit code."""
    import typer

    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)
