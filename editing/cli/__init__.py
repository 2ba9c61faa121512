"""The `nudge` command: the whole command tree, one module per command group.

Each command's docstring is its help. The modules import the model stack (torch,
transformers, peft) and the store inside the commands that need them, as
lm-evaluation-harness's `_cli/` does, so `nudge --help` answers at once and the
store commands never load a model library.
"""

from __future__ import annotations

import typer

from editing.cli import demo, edit, report, store, toyworld, ui, versions

app = typer.Typer(
    name="nudge",
    help="Turn human judgments about a language model into small low-rank edits, "
    "and measure what each edit really did.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("init")(store.init)
app.command("export")(store.export)
app.command("apply")(edit.apply)
app.command("report")(report.report)
app.command("probe")(report.probe)
app.command("export-model")(edit.export_model)
app.command("promote")(versions.promote)
app.command("revert")(versions.revert)
app.command("demo")(demo.demo)
app.command("ui")(ui.ui)
app.command("generate")(ui.generate)
app.add_typer(toyworld.toyworld_app, name="toyworld")
app.add_typer(toyworld.model_app, name="model")
app.add_typer(store.user_app, name="user")
app.add_typer(store.prompts_app, name="prompts")
app.add_typer(store.judgments_app, name="judgments")
app.add_typer(edit.runs_app, name="runs")
app.add_typer(versions.versions_app, name="versions")

__all__ = ["app"]
