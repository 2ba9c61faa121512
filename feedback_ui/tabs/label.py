"""The Label tab: judge the current model version's outputs one by one, and go back to change a judgment.

The item on screen lives in a per-session `gr.State` (the generation, and my judgment of it when I
reopened one), so each browser tab has its own place in the queue. Outputs are generated on demand
when my queue of the current version runs dry. Everything the page shows from the database
(prompts, outputs, corrections, notes, tags) is put in text boxes, never in HTML. How a label is
read (a correction implies "down") is the store's rule: `Store.label_output`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components import Component

from feedback_ui.auth import authorize
from feedback_ui.context import AppContext
from feedback_ui.errors import shown_in_page
from feedback_ui.events import Outputs, listen, page_load
from store import Judgment, NotFound, QueueItem

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
class LabelView:
    """The Label tab's components."""

    on_screen: gr.State  # {"generation_id", "judgment_id"} of the item shown, or None
    progress: gr.Markdown
    prompt: gr.Textbox
    output: gr.Textbox
    verdict: gr.Radio
    correction: gr.Textbox
    tags: gr.Dropdown
    note: gr.Textbox
    status: gr.Markdown
    skip: gr.Button
    draft: gr.Button
    submit: gr.Button
    recent: gr.Dropdown
    reopen: gr.Button

    @property
    def form(self) -> list[Component]:
        """What every item handler fills, in the order gradio_client callers get it."""
        return [
            self.on_screen, self.prompt, self.output, self.verdict, self.correction, self.tags, self.note, self.status,
        ]  # fmt: skip

    @property
    def answer(self) -> list[Component]:
        """What a submit or a draft sends."""
        return [self.on_screen, self.verdict, self.correction, self.tags, self.note]

    @property
    def sidebar(self) -> list[Component]:
        return [self.progress, self.recent]


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


def form_values(ctx: AppContext, view: LabelView, screen: OnScreen | None, message: str) -> Outputs:
    """The form for `screen` (None: the queue is empty), with the tags to pick from read now."""
    known_tags = ctx.store.prompt_tag_names()
    if screen is None:
        return {
            view.on_screen: None,
            view.prompt: gr.update(value="", label="Prompt"),
            view.output: "",
            view.verdict: None,
            view.correction: "",
            view.tags: gr.update(value=[], choices=known_tags),
            view.note: "",
            view.status: message
            or "Nothing left to judge for now. Come back after the next edit, or go back to an earlier item.",
        }
    judgment = screen.judgment
    judgment_id = None if judgment is None else judgment.id
    tags = list(judgment.tags if judgment is not None else screen.prompt_tags)
    where = (
        f"Changing my judgment #{judgment.id} ({judgment.status}, version {judgment.version})."
        if judgment is not None
        else f"Output {screen.generation_id} of model version {screen.model_version_id}, decoding {screen.decoding}."
    )
    return {
        view.on_screen: {"generation_id": screen.generation_id, "judgment_id": judgment_id},
        view.prompt: gr.update(value=screen.prompt, label=f"Prompt (output {screen.generation_id})"),
        view.output: screen.output,
        view.verdict: None if judgment is None else judgment.verdict,
        view.correction: (judgment.correction or "") if judgment is not None else "",
        view.tags: gr.update(value=tags, choices=sorted(set(known_tags) | set(tags))),
        view.note: "" if judgment is None else judgment.note,
        view.status: f"{message} {where}".strip(),
    }


def _queue_item(ctx: AppContext, view: LabelView, item: QueueItem | None, message: str) -> Outputs:
    return form_values(ctx, view, None if item is None else OnScreen.of_item(item), message)


def show_next(ctx: AppContext, view: LabelView, request: gr.Request) -> Outputs:
    """My next item (page load)."""
    me = authorize(ctx.store, request).name
    with shown_in_page("load your next item"):
        return _queue_item(ctx, view, next_output_for(ctx, me), "")


def skip(ctx: AppContext, view: LabelView, state: dict[str, Any] | None, request: gr.Request) -> Outputs:
    """The item after the one on screen."""
    me = authorize(ctx.store, request).name
    after = None if state is None else state["generation_id"]
    with shown_in_page("skip this item"):
        return _queue_item(ctx, view, next_output_for(ctx, me, after=after), "Skipped.")


def _save(
    ctx: AppContext, view: LabelView, request: gr.Request, status: str, state: dict[str, Any] | None,
    verdict: str | None, correction: str | None, tags: list[str] | None, note: str | None,
) -> Outputs:  # fmt: skip
    me = authorize(ctx.store, request).name
    if state is None:
        raise gr.Error("There is no item on screen to judge; press Skip to load one.")
    if verdict is None and not (correction or "").strip():
        raise gr.Error("Pick Good or Bad (or write a correction) before you submit.")
    with shown_in_page("save your judgment"):
        judgment = ctx.store.label_output(
            me,
            state["generation_id"],
            verdict,
            correction,
            note=note or "",
            tags=[t.strip() for t in tags or [] if t.strip()],
            status=status,
            judgment_id=state["judgment_id"],
        )
    if status == "draft":
        with shown_in_page("show your draft"):
            return form_values(ctx, view, OnScreen.of_judgment(judgment), "Draft saved.")
    with shown_in_page("load your next item"):
        return _queue_item(ctx, view, next_output_for(ctx, me), f"Saved judgment #{judgment.id}.")


def submit(
    ctx: AppContext, view: LabelView, state: dict[str, Any] | None, verdict: str | None, correction: str | None,
    tags: list[str] | None, note: str | None, request: gr.Request,
) -> Outputs:  # fmt: skip
    """Store the judgment as submitted, then show my next item."""
    return _save(ctx, view, request, "submitted", state, verdict, correction, tags, note)


def save_draft(
    ctx: AppContext, view: LabelView, state: dict[str, Any] | None, verdict: str | None, correction: str | None,
    tags: list[str] | None, note: str | None, request: gr.Request,
) -> Outputs:  # fmt: skip
    """Store the judgment as a draft and stay on it."""
    return _save(ctx, view, request, "draft", state, verdict, correction, tags, note)


def reopen(ctx: AppContext, view: LabelView, judgment_id: int | None, request: gr.Request) -> Outputs:
    """One of my ratings or corrections, back on screen to change it."""
    me = authorize(ctx.store, request).name
    if judgment_id is None:
        raise gr.Error("Pick one of your judgments in the list first.")
    with shown_in_page("open that judgment"):
        try:
            judgment = ctx.store.judgment(int(judgment_id))
        except NotFound as error:
            raise gr.Error(str(error)) from error
    if judgment.annotator != me or judgment.kind == "preference":
        raise gr.Error(f"Judgment #{judgment_id} is not one of your ratings; pick one from the list.")
    with shown_in_page("open that judgment"):
        return form_values(ctx, view, OnScreen.of_judgment(judgment), "")


def sidebar(ctx: AppContext, view: LabelView, request: gr.Request) -> Outputs:
    """My and the team's progress, and my recent judgments to go back to."""
    me = authorize(ctx.store, request).name
    with shown_in_page("show your progress"):
        return {
            view.progress: progress_text(ctx, me),
            view.recent: gr.update(choices=recent_choices(ctx, me), value=None),
        }


def render() -> LabelView:
    """The tab's components, laid out inside the caller's `gr.Tab`."""
    on_screen = gr.State(None)
    progress = gr.Markdown(elem_id="label-progress")
    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(label="Prompt", interactive=False, elem_id="label-prompt")
            output = gr.Textbox(label="The model's output", interactive=False, lines=3, elem_id="label-output")
            verdict = gr.Radio(VERDICTS, label="Is this output good?", elem_id="label-verdict")
            correction = gr.Textbox(label="What it should have said (optional; E)", lines=2, elem_id="label-correction")
            tags = gr.Dropdown(
                choices=[], multiselect=True, allow_custom_value=True, label="Tags", elem_id="label-tags"
            )
            note = gr.Textbox(label="Note (optional)", lines=1, elem_id="label-note")
            status = gr.Markdown(elem_id="label-status")
            with gr.Row():
                skip_button = gr.Button("Skip (S)", elem_id="label-skip")
                draft = gr.Button("Save draft", elem_id="label-draft")
                submit_button = gr.Button("Submit (Ctrl+Enter)", variant="primary", elem_id="label-submit")
        with gr.Column(scale=1):
            recent = gr.Dropdown(
                label="Go back to one of my judgments", choices=[], allow_custom_value=True, elem_id="label-recent"
            )
            reopen_button = gr.Button("Open it", elem_id="label-reopen")
            gr.Markdown("Keys: **1** good · **2** bad · **E** correction · **S** skip · **Ctrl+Enter** submit")
    return LabelView(
        on_screen, progress, prompt, output, verdict, correction, tags, note, status,
        skip_button, draft, submit_button, recent, reopen_button,
    )  # fmt: skip


def build(ctx: AppContext) -> LabelView:
    """Render the Label tab and wire its events; each item event refreshes the sidebar after it."""
    view = render()
    form, answer = view.form, view.answer
    loaded = listen(page_load(), show_next, ctx, view, [], form, api_name="label_next", access="read")
    skipped = listen(view.skip.click, skip, ctx, view, [view.on_screen], form, api_name="label_skip", access="read")
    submitted = listen(view.submit.click, submit, ctx, view, answer, form, api_name="label_submit", access="write")
    drafted = listen(view.draft.click, save_draft, ctx, view, answer, form, api_name="label_save_draft", access="write")
    for event, name in (
        (loaded, "label_progress"),
        (skipped, "label_progress_after_skip"),
        (submitted, "label_progress_after_submit"),
        (drafted, "label_progress_after_draft"),
    ):
        listen(event.then, sidebar, ctx, view, [], view.sidebar, api_name=name, access="read")
    listen(view.reopen.click, reopen, ctx, view, [view.recent], form, api_name="label_open", access="read")
    return view
