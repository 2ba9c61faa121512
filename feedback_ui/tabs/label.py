"""The Label tab: judge the current model version's outputs one by one, and go back to change a judgment.

The item on screen lives in a per-session `gr.State` (the generation, and my judgment of it when I
reopened one), so each browser tab has its own place in the queue. Outputs are generated on demand
when my queue of the current version runs dry. Everything the page shows from the database
(prompts, outputs, corrections, notes, tags) is put in text boxes, never in HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from feedback_ui.concurrency import READS, writes
from feedback_ui.context import AppContext
from feedback_ui.errors import shown_in_page
from feedback_ui.page import on_page_load
from store import DuplicateJudgment, Judgment, NotFound, QueueItem

VERDICTS = [("Good (1)", "up"), ("Bad (2)", "down")]
RECENT = 50  # my judgments listed for going back

KEYBOARD_SHORTCUTS_JS = """
() => {
  const onLabelTab = () => {
    const el = document.querySelector('#label-submit');
    return el && el.offsetParent !== null;
  };
  const click = (selector, index = 0) => {
    const el = document.querySelectorAll(selector)[index];
    if (el) el.click();
  };
  document.addEventListener('keydown', (event) => {
    if (!onLabelTab()) return;
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault(); click('#label-submit'); return;
    }
    const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(event.target.tagName) || event.target.isContentEditable;
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === '1') { event.preventDefault(); click('#label-verdict input', 0); }
    else if (event.key === '2') { event.preventDefault(); click('#label-verdict input', 1); }
    else if (event.key === 'e' || event.key === 'E') {
      event.preventDefault(); const box = document.querySelector('#label-correction textarea'); if (box) box.focus();
    }
    else if (event.key === 's' || event.key === 'S') { event.preventDefault(); click('#label-skip'); }
  });
}
"""


@dataclass(frozen=True)
class OnScreen:
    """What the Label tab shows: an output to judge, and my live judgment of it if I have one."""

    generation_id: int
    prompt: str
    output: str
    prompt_tags: tuple[str, ...]
    model_version_id: int
    decoding: dict[str, Any] | None
    judgment: Judgment | None

    @classmethod
    def of_item(cls, item: QueueItem) -> OnScreen:
        return cls(
            item.generation_id, item.prompt, item.output, item.prompt_tags, item.model_version_id, item.decoding, None
        )

    @classmethod
    def of_judgment(cls, judgment: Judgment) -> OnScreen:
        return cls(
            judgment.generation_id,
            judgment.prompt,
            judgment.output,
            judgment.tags,
            judgment.model_version_id,
            judgment.decoding,
            judgment,
        )


def next_output_for(ctx: AppContext, annotator: str, after: int | None = None) -> QueueItem | None:
    """My next output of the current version, generating more (batched with others waiting) when the queue
    has none ahead of `after`."""
    version = ctx.current_version()
    item = ctx.store.next_item_for(annotator, model_version_id=version.id, after=after)
    wrapped = item is not None and after is not None and item.generation_id <= after
    if item is None or wrapped:
        ctx.on_demand.fill(version.id)
        item = ctx.store.next_item_for(annotator, model_version_id=version.id, after=after)
    return item


def progress_text(ctx: AppContext, annotator: str) -> str:
    """Mine and the team's: judged, drafts, and outputs still waiting."""
    version = ctx.current_version()
    people = ctx.store.progress_by_annotator()
    mine = next((p for p in people if p.annotator == annotator), None)
    team_done = sum(p.submitted for p in people)
    waiting = len(ctx.store.prompts_without_output(version.id))
    mine_text = (
        f"**Me:** {mine.submitted} submitted, {mine.drafts} drafts, {mine.remaining} outputs to go"
        if mine is not None
        else "**Me:** nothing yet"
    )
    return (
        f"{mine_text} · **Team:** {team_done} submitted by {sum(p.submitted > 0 for p in people)} people"
        f" · {waiting} prompts not yet answered by version {version.id}"
    )


def recent_choices(ctx: AppContext, annotator: str) -> list[tuple[str, int]]:
    """My latest ratings and corrections, newest first, to reopen one."""
    mine = ctx.store.judgments_for(
        annotators=[annotator], status=("draft", "submitted"), kinds=("rating", "correction")
    )
    return [(f"#{j.id} {j.status} {j.verdict} {j.prompt[:60]}", j.id) for j in reversed(mine[-RECENT:])]


def form_values(screen: OnScreen | None, known_tags: list[str], message: str) -> tuple[Any, ...]:
    """The Label tab's components, in LABEL_OUTPUTS order, for `screen` (None: the queue is empty)."""
    if screen is None:
        return (
            None,
            gr.update(value="", label="Prompt"),
            "",
            None,
            "",
            gr.update(value=[], choices=known_tags),
            "",
            message or "Nothing left to judge for now. Come back after the next edit, or go back to an earlier item.",
        )
    judgment = screen.judgment
    tags = list(judgment.tags if judgment is not None else screen.prompt_tags)
    where = (
        f"Changing my judgment #{judgment.id} ({judgment.status}, version {judgment.version})."
        if judgment is not None
        else f"Output {screen.generation_id} of model version {screen.model_version_id}, decoding {screen.decoding}."
    )
    return (
        {"generation_id": screen.generation_id, "judgment_id": None if judgment is None else judgment.id},
        gr.update(value=screen.prompt, label=f"Prompt (output {screen.generation_id})"),
        screen.output,
        None if judgment is None else judgment.verdict,
        (judgment.correction or "") if judgment is not None else "",
        gr.update(value=tags, choices=sorted(set(known_tags) | set(tags))),
        "" if judgment is None else judgment.note,
        f"{message} {where}".strip(),
    )


def build_label_tab(ctx: AppContext) -> None:
    """Render the Label tab inside the caller's `gr.Tab`."""
    known_tags = sorted({t for p in ctx.store.prompts() for t in p.tags})
    on_screen = gr.State(None)
    progress = gr.Markdown(elem_id="label-progress")
    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(label="Prompt", interactive=False, elem_id="label-prompt")
            output = gr.Textbox(label="The model's output", interactive=False, lines=3, elem_id="label-output")
            verdict = gr.Radio(VERDICTS, label="Is this output good?", elem_id="label-verdict")
            correction = gr.Textbox(label="What it should have said (optional; E)", lines=2, elem_id="label-correction")
            tags = gr.Dropdown(
                choices=known_tags, multiselect=True, allow_custom_value=True, label="Tags", elem_id="label-tags"
            )
            note = gr.Textbox(label="Note (optional)", lines=1, elem_id="label-note")
            status = gr.Markdown(elem_id="label-status")
            with gr.Row():
                skip = gr.Button("Skip (S)", elem_id="label-skip")
                draft = gr.Button("Save draft", elem_id="label-draft")
                submit = gr.Button("Submit (Ctrl+Enter)", variant="primary", elem_id="label-submit")
        with gr.Column(scale=1):
            recent = gr.Dropdown(
                label="Go back to one of my judgments", choices=[], allow_custom_value=True, elem_id="label-recent"
            )
            reopen = gr.Button("Open it", elem_id="label-reopen")
            gr.Markdown("Keys: **1** good · **2** bad · **E** correction · **S** skip · **Ctrl+Enter** submit")
    form = [on_screen, prompt, output, verdict, correction, tags, note, status]

    def show_next(request: gr.Request) -> tuple[Any, ...]:
        me = ctx.user(request).name
        with shown_in_page("load your next item"):
            item = next_output_for(ctx, me)
        return form_values(None if item is None else OnScreen.of_item(item), known_tags, "")

    def skip_item(state: dict | None, request: gr.Request) -> tuple[Any, ...]:
        me = ctx.user(request).name
        after = None if state is None else state["generation_id"]
        with shown_in_page("skip this item"):
            item = next_output_for(ctx, me, after=after)
        return form_values(None if item is None else OnScreen.of_item(item), known_tags, "Skipped.")

    def write(
        state: dict | None, verdict: str | None, correction: str, tags: list[str] | None, note: str, status: str,
        request: gr.Request,
    ) -> Judgment:  # fmt: skip
        me = ctx.user(request).name
        if state is None:
            raise gr.Error("There is no item on screen to judge; press Skip to load one.")
        corrected = (correction or "").strip() or None
        if verdict is None:
            if corrected is None:
                raise gr.Error("Pick Good or Bad (or write a correction) before you submit.")
            verdict = "down"  # a correction says the output was not what it should have been
        kind = "correction" if corrected else "rating"
        cleaned_tags = [t.strip() for t in tags or [] if t.strip()]
        with shown_in_page("save your judgment"):
            judgment_id = state["judgment_id"]
            if judgment_id is None:
                try:
                    return ctx.store.submit_judgment(
                        me,
                        state["generation_id"],
                        kind,
                        verdict,
                        correction=corrected,
                        note=note or "",
                        tags=cleaned_tags,
                        status=status,
                    )
                except DuplicateJudgment:  # a second click, or another tab of mine got there first
                    live = ctx.store.live_judgment(me, state["generation_id"])
                    if live is None:
                        raise
                    judgment_id = live.id
            return ctx.store.update_judgment(
                me,
                judgment_id,
                kind=kind,
                verdict=verdict,
                correction=corrected,
                note=note or "",
                tags=cleaned_tags,
                status=status,
            )

    def submit_and_next(
        state: dict | None, verdict: str | None, correction: str, tags: list[str] | None, note: str,
        request: gr.Request,
    ) -> tuple[Any, ...]:  # fmt: skip
        judgment = write(state, verdict, correction, tags, note, "submitted", request)
        with shown_in_page("load your next item"):
            item = next_output_for(ctx, judgment.annotator)
        return form_values(
            None if item is None else OnScreen.of_item(item), known_tags, f"Saved judgment #{judgment.id}."
        )

    def save_draft(
        state: dict | None, verdict: str | None, correction: str, tags: list[str] | None, note: str,
        request: gr.Request,
    ) -> tuple[Any, ...]:  # fmt: skip
        judgment = write(state, verdict, correction, tags, note, "draft", request)
        return form_values(OnScreen.of_judgment(judgment), known_tags, "Draft saved.")

    def open_judgment(judgment_id: int | None, request: gr.Request) -> tuple[Any, ...]:
        me = ctx.user(request).name
        if judgment_id is None:
            raise gr.Error("Pick one of your judgments in the list first.")
        with shown_in_page("open that judgment"):
            try:
                judgment = ctx.store.judgment(int(judgment_id))
            except NotFound as error:
                raise gr.Error(str(error)) from error
        if judgment.annotator != me or judgment.kind == "preference":
            raise gr.Error(f"Judgment #{judgment_id} is not one of your ratings; pick one from the list.")
        return form_values(OnScreen.of_judgment(judgment), known_tags, "")

    def refresh_sidebar(request: gr.Request) -> tuple[str, Any]:
        me = ctx.user(request).name
        with shown_in_page("show your progress"):
            return progress_text(ctx, me), gr.update(choices=recent_choices(ctx, me), value=None)

    inputs = [on_screen, verdict, correction, tags, note]
    sidebar = [progress, recent]
    store_writes = writes(ctx.store)
    loaded = on_page_load(show_next, [], form, api_name="label_next", **READS)
    loaded.then(refresh_sidebar, [], sidebar, api_name="label_progress", **READS)
    skipped = skip.click(skip_item, [on_screen], form, api_name="label_skip", **READS)
    skipped.then(refresh_sidebar, [], sidebar, api_name="label_progress_after_skip", **READS)
    submitted = submit.click(submit_and_next, inputs, form, api_name="label_submit", **store_writes)
    submitted.then(refresh_sidebar, [], sidebar, api_name="label_progress_after_submit", **READS)
    drafted = draft.click(save_draft, inputs, form, api_name="label_save_draft", **store_writes)
    drafted.then(refresh_sidebar, [], sidebar, api_name="label_progress_after_draft", **READS)
    reopen.click(open_judgment, [recent], form, api_name="label_open", **READS)
