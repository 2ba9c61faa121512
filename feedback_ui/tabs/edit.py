"""The Edit tab (admin): pick or write a spec, see the dry run, launch it in the background, watch it.

The spec is validated as it is typed; the dry run shows what will be trained on and what was
dropped and why (`plan_run`, no model loaded). Launch starts `feedback_ui.worker` through
`EditJobs`, one edit at a time per workspace; a timer polls its progress, so the app stays free.
"""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from editing.runs import RunInputError, plan_run
from editing.spec import SpecError, spec_from_yaml
from editing.toyworld.paths import EXAMPLES
from feedback_ui.context import AppContext
from feedback_ui.edit_jobs import EditBusy, EditJobs, EditProgress

EXAMPLE_ROWS = 50
TRAINING_PHASE = (
    "training the adapter"  # the phase whose steps the bar counts  # training examples shown in the dry run
)


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


def build_edit_tab(ctx: AppContext) -> None:
    """Render the Edit tab inside the caller's `gr.Tab`."""
    jobs = EditJobs(ctx.home, ctx.store)
    gr.Markdown("## Edit\nAdmins only: pick or write a spec, check the dry run, then launch it.")
    with gr.Row():
        picker = gr.Dropdown(
            label="Spec", choices=list(spec_files(ctx.home)), interactive=True, scale=3, elem_id="edit-spec"
        )
        load = gr.Button("Load", scale=1, elem_id="edit-load")
    base = gr.State(str(ctx.home))  # the folder relative paths in the spec start from, per user
    code = gr.Code(label="Spec (YAML)", language="yaml", interactive=True, lines=14, elem_id="edit-code")
    validity = gr.Markdown(elem_id="edit-validity")
    with gr.Row():
        dry = gr.Button("Dry run", elem_id="edit-dry-run")
        launch = gr.Button("Launch", variant="primary", elem_id="edit-launch")
        cancel = gr.Button("Cancel the running edit", variant="stop", elem_id="edit-cancel")
    message = gr.Markdown(elem_id="edit-message")
    progress = gr.HTML(progress_html(jobs.progress()), elem_id="edit-progress")
    plan_text = gr.Markdown(elem_id="edit-plan")
    examples = gr.Dataframe(
        headers=["kind", "prompt", "completion", "rejected", "from"],
        interactive=False,
        wrap=True,
        label="Training data",
        elem_id="edit-examples",
    )
    timer = gr.Timer(1.0)

    def pick(label: str, request: gr.Request) -> tuple[str, str, str]:
        ctx.user(request, "admin")
        path = spec_files(ctx.home).get(label)
        if path is None:
            raise gr.Error(f"No spec named {label!r}; pick one from the list.")
        text = path.read_text(encoding="utf-8")
        return text, str(path.parent), validation_message(text, path.parent)

    def validate(text: str, folder: str, request: gr.Request) -> str:
        ctx.user(request, "admin")
        return validation_message(text, Path(folder))

    def show_plan(text: str, folder: str, request: gr.Request) -> tuple[str, list[list[str]]]:
        ctx.user(request, "admin")
        return dry_run(ctx, text, Path(folder))

    def start(text: str, folder: str, request: gr.Request) -> tuple[str, str, list[list[str]], str]:
        admin = ctx.user(request, "admin")
        plan, rows = dry_run(ctx, text, Path(folder))
        try:
            job = jobs.launch(text, Path(folder), admin.name)
        except EditBusy as error:
            raise gr.Error(str(error)) from error
        return f"Launched job {job}.", plan, rows, progress_html(jobs.progress())

    def stop(request: gr.Request) -> str:
        ctx.user(request, "admin")
        try:
            job = jobs.cancel()
        except EditBusy as error:
            raise gr.Error(str(error)) from error
        return f"Cancelling job {job}; the run will end `interrupted`."

    def poll(request: gr.Request) -> str:
        ctx.user(request)
        return progress_html(jobs.progress())

    load.click(pick, [picker], [code, base, validity], api_name="edit_load_spec")
    code.change(validate, [code, base], [validity], api_name="edit_validate", show_progress="hidden")
    dry.click(show_plan, [code, base], [plan_text, examples], api_name="edit_dry_run")
    launch.click(start, [code, base], [message, plan_text, examples, progress], api_name="edit_launch")
    cancel.click(stop, None, [message], api_name="edit_cancel")
    timer.tick(poll, None, [progress], api_name="edit_progress", show_progress="hidden")
