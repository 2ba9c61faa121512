"""The `nudge` commands for the embedded default: toyworld build, model info.

Training and loading import torch and transformers inside each command, so
`nudge --help` never pays for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from editing.cli.support import console, fail_on
from editing.quiet import quiet_dependencies

toyworld_app = typer.Typer(help="The embedded default: a small world and a tiny GPT-2 trained on it.")
model_app = typer.Typer(help="Inspect models nudge can load.")


@quiet_dependencies()  # the command draws its own progress; no dependency's warnings or bars in between
def build_with_progress(force: bool) -> Path:
    """Build the toy model (if needed) with a progress bar; exit 1 if it misses its bar."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from editing.toyworld.build import ToyWorldBuildError, build_toyworld

    with Progress(
        TextColumn("[bold]training the toy model"),
        BarColumn(),
        TextColumn("step {task.completed}/{task.total}  loss {task.fields[loss]:.3f}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("train", total=None, loss=float("nan"))

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total, loss=loss)

        try:
            return build_toyworld(force=force, on_step=on_step)
        except ToyWorldBuildError as exc:
            fail_on(exc)


def print_world_eval(folder: Path) -> None:
    report = json.loads((folder / "world_eval.json").read_text())
    console.print(f"toy world model: {folder}", highlight=False, soft_wrap=True)
    table = Table(show_header=True)
    table.add_column("relation")
    table.add_column("top-1 accuracy", justify="right")
    for relation, accuracy in report["by_relation"].items():
        table.add_row(relation, f"{accuracy:.3f}")
    console.print(table)
    console.print(
        f"single-hop facts: [bold]{report['single_hop_accuracy']:.3f}[/] of {report['n_facts']}   "
        f"multi-hop questions: [bold]{report['multi_hop_accuracy']:.3f}[/] of "
        f"{report['n_multi_hop']}   built in {report['seconds']:.0f} s"
    )


@toyworld_app.command("build")
def toyworld_build(
    force: bool = typer.Option(False, "--force", help="Rebuild even when the model exists."),
) -> None:
    """Generate the toy world's corpus and train its tiny GPT-2 on the CPU.

    Writes an ordinary Hugging Face folder to $NUDGE_HOME/models/toyworld-v2 with
    world_eval.json beside the weights. Rebuilds only when missing or with --force.
    """
    from editing.workspace import toyworld_model_dir

    existed = (toyworld_model_dir() / "world_eval.json").exists()
    folder = build_with_progress(force)
    if existed and not force:
        console.print(f"already built: {folder} (use --force to rebuild)")
    print_world_eval(folder)


@model_app.command("info")
@quiet_dependencies()
def model_info(ref: str = typer.Argument(..., help="A model folder, a hub id, or `toyworld`.")) -> None:
    """Load a model and say what it is: architecture, size, device, chat template."""
    from editing.loading import ModelLoadError, load_model

    try:
        loaded = load_model(ref)
    except ModelLoadError as exc:
        fail_on(exc)
    n_params = sum(p.numel() for p in loaded.model.parameters())
    console.print(f"model:         {loaded.ref}")
    console.print(f"architecture:  {loaded.architecture}")
    console.print(f"parameters:    {n_params:,}")
    console.print(f"device:        {loaded.device}")
    console.print(f"chat template: {'yes' if loaded.has_chat_template else 'no'}")
    console.print(f"fingerprint:   {loaded.fingerprint}")
