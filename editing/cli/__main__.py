"""`python -m editing.cli` runs the `nudge` command (the tests use it for a real process)."""

from editing.cli import app

app()
