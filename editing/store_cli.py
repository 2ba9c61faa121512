"""The `nudge` commands over the store: init, user, prompts, judgments, export."""

from __future__ import annotations

import typer


def register_store_commands(app: typer.Typer) -> None:
    """Attach the store's commands to the `nudge` app."""
