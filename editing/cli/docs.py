"""The CLI reference (docs/cli.md), written from the command tree's own metadata.

It walks the tree typer builds (`typer.main.get_command`) and asks each parameter
for the help record `--help` prints, without a terminal, so the page never
depends on the terminal's width or colours; a test fails when the page and the
commands disagree. Regenerate it with `python -m editing.cli.docs > docs/cli.md`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import typer
from typer.core import TyperCommand, TyperGroup

HEADER = (
    "# CLI reference\n\n"
    "Generated from the `nudge` command tree by `python -m editing.cli.docs > docs/cli.md`; "
    "a test fails when this page and the commands disagree. `nudge COMMAND --help` says the same.\n"
)

Command = TyperCommand | TyperGroup


def _subcommands(group: TyperGroup, ctx: typer.Context) -> Iterator[tuple[Command, typer.Context]]:
    """The group's visible subcommands in name order, each with its own context."""
    for name in sorted(group.list_commands(ctx)):
        sub = group.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        if not isinstance(sub, (TyperCommand, TyperGroup)):
            raise TypeError(f"`{ctx.command_path} {name}` is a {type(sub).__name__}; register it through typer")
        yield sub, typer.Context(sub, info_name=name, parent=ctx)


def _walk(command: Command, ctx: typer.Context) -> Iterator[tuple[Command, typer.Context]]:
    """Every command under `command`, itself first, depth first."""
    yield command, ctx
    if isinstance(command, TyperGroup):
        for sub, sub_ctx in _subcommands(command, ctx):
            yield from _walk(sub, sub_ctx)


def _cell(text: str) -> str:
    """Text that stays inside one cell of a Markdown table."""
    return " ".join(text.split()).replace("|", "\\|")


def _summary(command: Command) -> str:
    """What `--help` lists for a subcommand: its short help, else the first paragraph of its help."""
    return _cell(command.short_help or inspect.cleandoc(command.help or "").split("\n\n")[0])


def command_section(command: Command, ctx: typer.Context) -> list[str]:
    """One command's Markdown: title, help, usage, its arguments and options, its subcommands."""
    lines = [f"## `{ctx.command_path}`", ""]
    if command.help:
        lines += [inspect.cleandoc(command.help), ""]
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines += ["```", usage, "```", ""]
    records = [record for param in command.params if (record := param.get_help_record(ctx)) is not None]
    if records:
        lines += ["| argument or option | help |", "|---|---|"]
        lines += [f"| `{_cell(names)}` | {_cell(help_text)} |" for names, help_text in records]
        lines.append("")
    if isinstance(command, TyperGroup):
        lines += ["| command | what it does |", "|---|---|"]
        lines += [f"| `{sub_ctx.command_path}` | {_summary(sub)} |" for sub, sub_ctx in _subcommands(command, ctx)]
        lines.append("")
    return lines


def cli_reference_markdown(app: typer.Typer) -> str:
    """The whole reference: every command and subcommand of `app`, in name order."""
    root = typer.main.get_command(app)
    if not isinstance(root, TyperGroup):
        raise TypeError(f"the app builds a {type(root).__name__}, not a command group; give it several commands")
    lines = [HEADER]
    for command, ctx in _walk(root, typer.Context(root, info_name="nudge")):
        lines += command_section(command, ctx)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    from editing.cli import app

    print(cli_reference_markdown(app), end="")
