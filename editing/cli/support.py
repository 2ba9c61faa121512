"""What every `nudge` command shares: the console, and the one way to fail with the right exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from editing.errors import EXIT_BAD_INPUT, NudgeError

if TYPE_CHECKING:
    from store import StoreError

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one line saying what is wrong and what to do, then exit with `code`."""
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_code_for(error: NudgeError | StoreError) -> int:
    """The exit code of a library error, from `editing.errors.EXIT_CODES`.

    nudge's own errors carry theirs. The store cannot import `editing/`, so its
    errors are mapped here: every one of them refuses something the user named or
    set up (an account, a file, the database $NUDGE_DB or the workspace points at),
    so each is bad input.
    """
    return error.exit_code if isinstance(error, NudgeError) else EXIT_BAD_INPUT


def fail_on(error: NudgeError | StoreError, context: str = "") -> NoReturn:
    """Fail with the library's message (prefixed by `context`) and the error's exit code."""
    fail(escape(f"{context}{error}"), code=exit_code_for(error))
