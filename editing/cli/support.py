"""What every `nudge` command shares: the console, the one way to fail with the right exit code, the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from editing.errors import EXIT_BAD_INPUT, NudgeError

if TYPE_CHECKING:
    from store import Store, StoreError

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


@contextmanager
def workspace_store(create: bool = False) -> Iterator[Store]:
    """The workspace's store ($NUDGE_DB, else $NUDGE_HOME/nudge.db) for one command, closed after it.

    Any refusal from the store, opening it or later in the command, becomes one error line and its
    exit code. `create` makes or upgrades the database first, for the commands a script may run
    before `nudge init`; the others say to run `nudge init`.
    """
    from store import Store, StoreError

    try:
        with Store.init_db() if create else Store.open() as store:
            yield store
    except StoreError as error:
        fail_on(error)
