"""What every `nudge` command shares: the console and the one way to fail."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

EXIT_BAD_INPUT = 2  # like click's usage errors: the user gave something nudge cannot use


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one line saying what is wrong and what to do, then exit with `code`."""
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
