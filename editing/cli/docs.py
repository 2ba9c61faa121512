"""The reference pages written from the code: the CLI (docs/cli.md) and the edit spec (docs/spec.md).

The CLI page walks the tree typer builds (`typer.main.get_command`) and asks each
parameter for the help record `--help` prints, without a terminal, so the page never
depends on the terminal's width or colours. The spec page walks the spec's dataclasses
and their help. A test fails when a page and the code disagree. Regenerate them with
`python -m editing.cli.docs > docs/cli.md` and `python -m editing.cli.docs spec > docs/spec.md`.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Iterator
from typing import get_type_hints

import typer
from typer.core import TyperCommand, TyperGroup

from editing.dataclass_from_dict import type_name
from editing.spec import EditSpec

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


SPEC_HEADER = (
    "# Edit spec reference\n\n"
    "Generated from `editing/spec.py` by `python -m editing.cli.docs spec > docs/spec.md`; "
    "a test fails when this page and the code disagree.\n"
)


def _spec_section(cls: type, prefix: str) -> list[str]:
    """One section of the spec's Markdown: its fields in a table, then its nested sections."""
    lines = [
        f"## {f'`{prefix}`' if prefix else 'Top level'}",
        "",
        (cls.__doc__ or "").strip(),
        "",
        "| field | type | default | meaning |",
        "|---|---|---|---|",
    ]
    hints = get_type_hints(cls)
    nested = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            nested.append((hint, f"{prefix}.{f.name}" if prefix else f.name))
            default = "(section)"
        elif f.default is not dataclasses.MISSING:
            default = f"`{f.default!r}`"
        elif f.default_factory is not dataclasses.MISSING:
            default = f"`{f.default_factory()!r}`"
        else:
            default = "required"
        lines.append(f"| `{f.name}` | {type_name(hint)} | {default} | {f.metadata.get('help', '')} |")
    lines.append("")
    for section_cls, name in nested:
        lines += _spec_section(section_cls, name)
    return lines


def spec_reference_markdown() -> str:
    """The spec's field reference, written from the dataclasses' help (docs/spec.md)."""
    return "\n".join([SPEC_HEADER, *_spec_section(EditSpec, "")])


if __name__ == "__main__":
    if sys.argv[1:] == ["spec"]:
        print(spec_reference_markdown())
    else:
        from editing.cli import app

        print(cli_reference_markdown(app), end="")
