"""docs/cli.md is the `nudge` command tree as it is: every command, argument and option, whatever the terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from editing.cli import app

ROOT = Path(__file__).resolve().parents[1]
CLI_DOCS = ROOT / "docs" / "cli.md"


def _sections(page: str) -> dict[str, str]:
    """Each `## `nudge ...`` section of the page, by its command path."""
    parts = re.split(r"^## `(nudge[^`]*)`$", page, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_reference_docs_match_the_commands_on_any_terminal() -> None:
    """The generator's output is the page, byte for byte, in a narrow coloured terminal too."""
    env = os.environ | {"COLUMNS": "40", "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    result = subprocess.run(
        [sys.executable, "-m", "editing.cli.docs"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout == CLI_DOCS.read_text(), "docs/cli.md is stale; run `python -m editing.cli.docs > docs/cli.md`"


def test_every_command_and_option_that_help_shows_is_documented() -> None:
    """Walk the commands as a user would, through --help, and find each one and its options on the page."""
    sections = _sections(CLI_DOCS.read_text())
    runner = CliRunner()
    pending, seen = [[]], []
    while pending:
        args = pending.pop()
        result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert result.exit_code == 0, result.output
        path = " ".join(["nudge", *args])
        seen.append(path)
        assert path in sections, f"`{path}` is missing from docs/cli.md"
        options = re.findall(r"^│\s+(?:\*\s+)?(--[a-z][a-z-]*)", result.output, flags=re.MULTILINE)
        for option in set(options) - {"--help"}:
            assert option in sections[path], f"{path} {option} is undocumented"
        commands = re.search(r"Commands ─+╮\n(.*?)╰", result.output, flags=re.DOTALL)
        if commands:
            pending += [[*args, line.split()[1]] for line in commands.group(1).splitlines() if line.split()[1:]]
    assert {"nudge demo", "nudge apply", "nudge runs list", "nudge user add"} <= set(seen)
    assert set(seen) == set(sections)
