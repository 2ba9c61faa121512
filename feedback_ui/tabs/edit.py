"""The Edit tab (admin): pick or write a spec, see the dry run, launch it in the background, watch it.

The spec is validated as it is typed; the dry run shows what will be trained on and what was
dropped and why (`plan_run`, no model loaded). Launch starts `feedback_ui.worker` through
`EditJobs`, one edit at a time per workspace; a timer polls its progress, so the app stays free.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from editing.runs import RunInputError, plan_run
from editing.spec import SpecError
from editing.spec_reader import spec_from_yaml
from editing.toyworld.paths import EXAMPLES
from feedback_ui.auth import authorize
from feedback_ui.context import AppContext
from feedback_ui.edit_jobs import EditBusy, EditProgress
from feedback_ui.events import Outputs, listen, page_load

EXAMPLE_ROWS = 50  # training examples shown in the dry run
TRAINING_PHASE = "training the adapter"  # the phase whose steps the bar counts


def spec_files(home: Path) -> dict[str, Path]:
    """Specs to pick from, by label: the project's examples, then the workspace's `specs/` folder."""
    found = {f"examples/{p.name}": p for p in sorted(EXAMPLES.glob("*.yaml"))}
    found |= {f"workspace/specs/{p.name}": p for p in sorted((home / "specs").glob("*.yaml"))}
    return found


def validation_message(text: str, base: Path) -> str:
    """One line saying whether the spec is valid, and the first error if not."""
    if not text.strip():
        return "Write a spec, or pick one above."
    try:
        spec = spec_from_yaml(text, base)
    except SpecError as error:
        return f"❌ {error}"
    return f"✅ valid spec `{spec.name}` on model `{spec.model}` ({spec.train.steps} steps)"


def dry_run(ctx: AppContext, text: str, base: Path) -> tuple[str, list[list[str]]]:
    """The plan as text and the training examples as rows; raises gr.Error for a bad spec."""
    try:
        plan = plan_run(spec_from_yaml(text, base), ctx.store)
    except (SpecError, RunInputError) as error:
        raise gr.Error(f"The spec cannot run: {error}") from error
    s = plan.selection
    by_split = {split: sum(p.split == split for p in plan.probes) for split in ("train", "val", "test")}
    lines = [
        f"**{plan.spec.name}**: {plan.judgments} judgment(s) from {plan.feedback_source}",
        f"- training examples: {len(s.examples)}, by kind {dict(sorted(s.used_by_kind.items()))}",
        f"- annotators used: {dict(sorted(s.annotators.items())) or 'none'}",
        f"- dropped: {dict(sorted(s.dropped.items())) or 'nothing'}",
        f"- probes: {len(plan.probes)} from {', '.join(x.name for x in plan.suites)}, by split {by_split}",
        f"- gates: {plan.spec.gates or 'none'}",
    ]
    rows = [[e.kind, e.prompt, e.completion, e.rejected, e.source] for e in s.examples[:EXAMPLE_ROWS]]
    return "\n".join(lines), rows


def progress_html(progress: EditProgress) -> str:
    """The progress bar and its caption, every value escaped."""
    if progress.state == "idle":
        return "<p>No edit has been launched from this workspace yet.</p>"
    value = progress.step if progress.steps else 0
    bar = f'<progress value="{value}" max="{max(progress.steps, 1)}" style="width:100%"></progress>'
    if progress.finished:
        bar = '<progress value="1" max="1" style="width:100%"></progress>' if progress.state == "succeeded" else ""
    run = f"run {progress.run_id}" if progress.run_id is not None else "no run yet"
    training = progress.phase == TRAINING_PHASE and progress.steps
    step = f", step {progress.step}/{progress.steps}" if training else ""
    caption = f"{progress.state}: {progress.phase or 'starting'}{step} ({run}, job {progress.job})"
    if progress.finished:
        caption = f"{progress.state} ({run}, job {progress.job})"
    error = f'<p class="edit-error">{html.escape(progress.error)}</p>' if progress.error else ""
    state = html.escape(progress.state)
    return f'<div class="edit-progress" data-state="{state}">{bar}<p>{html.escape(caption)}</p>{error}</div>'


@dataclass(frozen=True)
class EditView:
    """The Edit tab's components."""

    picker: gr.Dropdown
    load: gr.Button
    base: gr.State  # the folder relative paths in the spec start from, per user
    code: gr.Code
    validity: gr.Markdown
    dry: gr.Button
    launch: gr.Button
    cancel: gr.Button
    message: gr.Markdown
    progress: gr.HTML
    plan: gr.Markdown
    examples: gr.Dataframe
    timer: gr.Timer


def list_specs(ctx: AppContext, view: EditView, request: gr.Request) -> Outputs:
    """The specs to pick from, read when the page loads; an annotator's page lists none."""
    if authorize(ctx.store, request).role != "admin":
        return {view.picker: gr.update()}
    return {view.picker: gr.update(choices=list(spec_files(ctx.home)))}


def load_spec(ctx: AppContext, view: EditView, label: str, request: gr.Request) -> Outputs:
    """The picked spec's text, its folder, and whether it is valid."""
    authorize(ctx.store, request, "admin")
    path = spec_files(ctx.home).get(label)
    if path is None:
        raise gr.Error(f"No spec named {label!r}; pick one from the list.")
    text = path.read_text(encoding="utf-8")
    return {view.code: text, view.base: str(path.parent), view.validity: validation_message(text, path.parent)}


def validate(ctx: AppContext, view: EditView, text: str, folder: str, request: gr.Request) -> Outputs:
    """Whether the spec as typed is valid."""
    authorize(ctx.store, request, "admin")
    return {view.validity: validation_message(text, Path(folder))}


def _plan(ctx: AppContext, view: EditView, text: str, folder: str) -> Outputs:
    plan, rows = dry_run(ctx, text, Path(folder))
    return {view.plan: plan, view.examples: rows}


def show_plan(ctx: AppContext, view: EditView, text: str, folder: str, request: gr.Request) -> Outputs:
    """The dry run: what the edit would train on and what it drops."""
    authorize(ctx.store, request, "admin")
    return _plan(ctx, view, text, folder)


def launch(ctx: AppContext, view: EditView, text: str, folder: str, request: gr.Request) -> Outputs:
    """The dry run, then the edit started in the background; an error if one is running."""
    admin = authorize(ctx.store, request, "admin")
    plan = _plan(ctx, view, text, folder)
    try:
        job = ctx.edits.launch(text, Path(folder), admin.name)
    except EditBusy as error:
        raise gr.Error(str(error)) from error
    return {view.message: f"Launched job {job}.", **plan, view.progress: progress_html(ctx.edits.progress())}


def cancel(ctx: AppContext, view: EditView, request: gr.Request) -> Outputs:
    """Ask the running edit to stop; its run ends `interrupted`."""
    authorize(ctx.store, request, "admin")
    try:
        job = ctx.edits.cancel()
    except EditBusy as error:
        raise gr.Error(str(error)) from error
    return {view.message: f"Cancelling job {job}; the run will end `interrupted`."}


def poll(ctx: AppContext, view: EditView, request: gr.Request) -> Outputs:
    """The progress bar of the newest edit, read each tick of the timer."""
    authorize(ctx.store, request)
    return {view.progress: progress_html(ctx.edits.progress())}


def render(home: Path) -> EditView:
    """The tab's components, laid out inside the caller's `gr.Tab`."""
    gr.Markdown("## Edit\nAdmins only: pick or write a spec, check the dry run, then launch it.")
    with gr.Row():
        picker = gr.Dropdown(label="Spec", choices=[], interactive=True, scale=3, elem_id="edit-spec")
        load = gr.Button("Load", scale=1, elem_id="edit-load")
    base = gr.State(str(home))
    code = gr.Code(label="Spec (YAML)", language="yaml", interactive=True, lines=14, elem_id="edit-code")
    validity = gr.Markdown(elem_id="edit-validity")
    with gr.Row():
        dry = gr.Button("Dry run", elem_id="edit-dry-run")
        launch_button = gr.Button("Launch", variant="primary", elem_id="edit-launch")
        cancel_button = gr.Button("Cancel the running edit", variant="stop", elem_id="edit-cancel")
    message = gr.Markdown(elem_id="edit-message")
    progress = gr.HTML(elem_id="edit-progress")
    plan = gr.Markdown(elem_id="edit-plan")
    examples = gr.Dataframe(
        headers=["kind", "prompt", "completion", "rejected", "from"],
        interactive=False,
        wrap=True,
        label="Training data",
        elem_id="edit-examples",
    )
    timer = gr.Timer(1.0)
    return EditView(
        picker, load, base, code, validity, dry, launch_button, cancel_button, message, progress, plan, examples, timer
    )


def build(ctx: AppContext) -> EditView:
    """Render the Edit tab and wire its events; the timer shows the edit's progress from the first tick."""
    view = render(ctx.home)
    spec = [view.code, view.base]
    plan = [view.plan, view.examples]
    listen(page_load(), list_specs, ctx, view, [], [view.picker], api_name="edit_specs", access="read")
    loaded = [view.code, view.base, view.validity]
    listen(view.load.click, load_spec, ctx, view, [view.picker], loaded, api_name="edit_load_spec", access="read")
    listen(
        view.code.change, validate, ctx, view, spec, [view.validity], api_name="edit_validate", access="read",
        show_progress="hidden",
    )  # fmt: skip
    listen(view.dry.click, show_plan, ctx, view, spec, plan, api_name="edit_dry_run", access="read")
    launched = [view.message, *plan, view.progress]
    listen(view.launch.click, launch, ctx, view, spec, launched, api_name="edit_launch", access="write")
    listen(view.cancel.click, cancel, ctx, view, [], [view.message], api_name="edit_cancel", access="write")
    listen(
        view.timer.tick, poll, ctx, view, [], [view.progress], api_name="edit_progress", access="read",
        show_progress="hidden",
    )  # fmt: skip
    return view
