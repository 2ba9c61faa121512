"""The Compare tab: two outputs for one prompt, A or B or a tie, with the sides hidden until I submit.

A pair is the base model's output against the current edited version's, or, while the two agree
(or nothing is promoted yet), two sampled outputs of the current version. Which output is A is
drawn per annotator and prompt from a seeded generator, so a reload shows the same sides; the page
holds only the two texts, and where each came from is said only after the preference is stored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components import Component

from editing.generation import Decoding, generate_outputs
from feedback_ui.auth import authorize
from feedback_ui.context import AppContext
from feedback_ui.errors import shown_in_page
from feedback_ui.events import Outputs, listen, page_load
from store import DuplicateJudgment, Generation, Prompt

SAMPLES = tuple(Decoding(do_sample=True, temperature=1.5, seed=seed) for seed in range(1, 7))  # hot: outputs differ
PROMPTS_TRIED = 5  # prompts tried per request before saying there is nothing to compare
VERDICTS = [("A is better", "a"), ("B is better", "b"), ("Tie", "tie")]


def source_of(generation: Generation) -> str:
    """Where an output came from, said after the preference is stored."""
    settings = generation.decoding or {}
    how = f"sampled with seed {settings.get('seed')}" if settings.get("do_sample") else "greedy"
    return f"model version {generation.model_version_id}, {how} (output {generation.id})"


def output_of(ctx: AppContext, version_id: int, prompt: Prompt) -> Generation:
    """The version's stored output for the prompt, generated first if it has none."""
    generate_outputs(ctx.store, version_id, prompt_ids=[prompt.id], models=ctx.models)
    return next(g for g in ctx.store.generations_for(prompt.id) if g.model_version_id == version_id)


def pair_for(ctx: AppContext, prompt: Prompt) -> tuple[Generation, Generation] | None:
    """Two different outputs: base against current, else the current greedy one against a sample; None if all agree."""
    current = ctx.current_version()
    base = ctx.base_version()
    if current.id != base.id:
        before, after = output_of(ctx, base.id, prompt), output_of(ctx, current.id, prompt)
        if before.text != after.text:
            return before, after
    greedy = output_of(ctx, current.id, prompt)  # first, so an equal sample does not claim its decoding
    seen: dict[int, Generation] = {greedy.id: greedy}
    for decoding in SAMPLES:
        for generation in generate_outputs(
            ctx.store, current.id, prompt_ids=[prompt.id], decoding=decoding, models=ctx.models, only_missing=False
        ):
            seen.setdefault(generation.id, generation)
        if len(seen) >= 2:
            first, second = list(seen.values())[:2]
            return first, second
    return None


def next_pair(ctx: AppContext, annotator: str, after_prompt: int = 0) -> dict[str, Any] | None:
    """The next prompt after `after_prompt` I have not compared, with its two outputs in my A/B order."""
    compared = {
        j.prompt_id
        for j in ctx.store.judgments_for(annotators=[annotator], kinds=["preference"], status=("draft", "submitted"))
    }
    prompts = [p for p in ctx.store.prompts() if p.id not in compared]
    ordered = [p for p in prompts if p.id > after_prompt] + [p for p in prompts if p.id <= after_prompt]
    for prompt in ordered[:PROMPTS_TRIED]:
        pair = pair_for(ctx, prompt)
        if pair is None:
            continue
        if random.Random(f"{annotator}/{prompt.id}").random() < 0.5:
            pair = (pair[1], pair[0])
        a, b = pair
        return {"prompt_id": prompt.id, "prompt": prompt.text, "a": a, "b": b}
    return None


@dataclass(frozen=True)
class CompareView:
    """The Compare tab's components."""

    pair: gr.State  # server-side: the page never holds which output is which
    prompt: gr.Textbox
    output_a: gr.Textbox
    output_b: gr.Textbox
    verdict: gr.Radio
    reason: gr.Textbox
    status: gr.Markdown
    skip: gr.Button
    submit: gr.Button

    @property
    def form(self) -> list[Component]:
        """What every handler fills, in the order gradio_client callers get it (the pair itself stays on the server)."""
        return [self.pair, self.prompt, self.output_a, self.output_b, self.verdict, self.reason, self.status]


def shown(view: CompareView, pair: dict[str, Any] | None, message: str = "") -> Outputs:
    """The form for `pair`, or the message that there is none."""
    if pair is None:
        texts: Outputs = {view.prompt: "", view.output_a: "", view.output_b: ""}
        message = message or "Nothing to compare right now: every output agrees."
    else:
        texts = {view.prompt: pair["prompt"], view.output_a: pair["a"].text, view.output_b: pair["b"].text}
    return {view.pair: pair, **texts, view.verdict: None, view.reason: "", view.status: message}


def first_pair(ctx: AppContext, view: CompareView, request: gr.Request) -> Outputs:
    """My first pair (page load)."""
    me = authorize(ctx.store, request).name
    with shown_in_page("load a pair to compare"):
        return shown(view, next_pair(ctx, me))


def skip(ctx: AppContext, view: CompareView, pair: dict[str, Any] | None, request: gr.Request) -> Outputs:
    """The pair of the next prompt."""
    me = authorize(ctx.store, request).name
    with shown_in_page("load a pair to compare"):
        return shown(view, next_pair(ctx, me, 0 if pair is None else pair["prompt_id"]))


def submit(
    ctx: AppContext, view: CompareView, pair: dict[str, Any] | None, choice: str | None, why: str | None,
    request: gr.Request,
) -> Outputs:  # fmt: skip
    """Store my preference, say where A and B came from, and show the next pair."""
    me = authorize(ctx.store, request).name
    if pair is None:
        raise gr.Error("There is no pair on screen; press Next pair to load one.")
    if choice is None:
        raise gr.Error("Pick A, B or Tie before you submit.")
    a, b = pair["a"], pair["b"]
    with shown_in_page("save your preference"):
        try:
            judgment = ctx.store.submit_judgment(me, a.id, "preference", choice, generation_b_id=b.id, note=why or "")
        except DuplicateJudgment:  # a second click on Submit: the first one counted
            live = ctx.store.live_judgment(me, a.id, b.id)
            if live is None:
                raise
            judgment = live
        revealed = f"Saved preference #{judgment.id}. In that pair, A was {source_of(a)}; B was {source_of(b)}."
        return shown(view, next_pair(ctx, me, pair["prompt_id"]), revealed)


def render() -> CompareView:
    """The tab's components, laid out inside the caller's `gr.Tab`."""
    pair = gr.State(None)
    prompt = gr.Textbox(label="Prompt", interactive=False, elem_id="compare-prompt")
    with gr.Row():
        output_a = gr.Textbox(label="Output A", interactive=False, lines=3, elem_id="compare-a")
        output_b = gr.Textbox(label="Output B", interactive=False, lines=3, elem_id="compare-b")
    verdict = gr.Radio(VERDICTS, label="Which is better?", elem_id="compare-verdict")
    reason = gr.Textbox(label="Why (optional)", elem_id="compare-reason")
    status = gr.Markdown(elem_id="compare-status")
    with gr.Row():
        skip_button = gr.Button("Next pair", elem_id="compare-next")
        submit_button = gr.Button("Submit", variant="primary", elem_id="compare-submit")
    return CompareView(pair, prompt, output_a, output_b, verdict, reason, status, skip_button, submit_button)


def build(ctx: AppContext) -> CompareView:
    """Render the Compare tab and wire its events."""
    view = render()
    answer = [view.pair, view.verdict, view.reason]
    listen(page_load(), first_pair, ctx, view, [], view.form, api_name="compare_next", access="read")
    listen(view.skip.click, skip, ctx, view, [view.pair], view.form, api_name="compare_skip", access="read")
    listen(view.submit.click, submit, ctx, view, answer, view.form, api_name="compare_submit", access="write")
    return view
