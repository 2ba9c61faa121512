"""The `nudge` commands for the browser app: `ui` serves it, `generate` fills its queue ahead of time."""

from __future__ import annotations

from typing import Annotated

import typer

from editing.cli.support import console, err_console, fail, fail_on, workspace_store
from editing.quiet import quiet_dependencies


def ui(
    host: Annotated[str, typer.Option(help="Address to listen on; loopback unless you mean to share it.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 7860,
    model: Annotated[
        str, typer.Option(help="The base model annotators label until an edit is promoted (folder, hub id, toyworld).")
    ] = "toyworld",
) -> None:
    """Serve the browser app over the workspace: label, write probes, launch edits, read reports.

    Log in with an account made by `nudge user add NAME [--role admin]`. Serves on
    loopback by default; another host prints a warning. Stop it with Ctrl+C.
    """
    from feedback_ui.serve import serve
    from store import StoreError
    from store.workspace import nudge_home

    console.print(f"nudge app on http://{host}:{port}  (workspace {nudge_home()}; Ctrl+C stops it)")
    try:
        serve(nudge_home(), host=host, port=port, base_model=model)
    except StoreError as error:
        fail_on(error)
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error}; pick another --port")


@quiet_dependencies()  # the command draws its own progress; no dependency's warnings or bars in between
def generate(
    tags: Annotated[list[str] | None, typer.Option("--tag", help="Only prompts with this tag (repeatable).")] = None,
    version: Annotated[
        int | None, typer.Option(help="The model version to generate with; default: the current one.")
    ] = None,
    model: Annotated[
        str, typer.Option(help="The base model, when no version is current yet (folder, hub id, toyworld).")
    ] = "toyworld",
    batch_size: Annotated[int, typer.Option(help="Prompts per generation batch.", min=1)] = 16,
) -> None:
    """Generate a model version's outputs for stored prompts ahead of time, so labelling never waits.

    Prompts that already have an output of that version are skipped, so running it
    again only fills gaps. Outputs are greedy and stored with their decoding settings.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from editing.errors import NudgeError
    from editing.generation import GenerationError, generate_outputs

    with workspace_store() as store:
        try:
            if version is None:
                current = store.current_model_version() or store.ensure_base_version(model)
                version = current.id
            with Progress(
                TextColumn(f"[bold]generating with version {version}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err_console,
                transient=True,
            ) as progress:
                task = progress.add_task("generate", total=None)
                made = generate_outputs(
                    store,
                    version,
                    tags=tags or None,
                    batch_size=batch_size,
                    on_progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
        except NudgeError as error:
            fail_on(error)
        except GenerationError as error:
            fail(str(error), code=1)
    console.print(f"generated {len(made)} output(s) with model version {version}")
