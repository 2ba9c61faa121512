"""The Probes tab: write probes for a suite, one at a time or pasted as JSONL, and see its coverage.

Anyone logged in may write probes; the app deals their splits (feedback_ui.splits), so nobody
chooses what is held out. Each suite shows its test probes per kind and the strictest gate that
count can support, and every new probe near a training prompt is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from feedback_ui.auth import authorize
from feedback_ui.context import AppContext
from feedback_ui.coverage import coverage
from feedback_ui.events import Outputs, listen, page_load
from feedback_ui.probe_writing import Added, ProbeInputError, add_probes, parse_probe_lines
from store import Probe, StoreError

KINDS = ["edit", "paraphrase", "leak", "control"]
PROBE_COLUMNS = ["id", "kind", "relation", "split", "prompt", "target", "foil", "author"]
COVERAGE_COLUMNS = [
    "kind",
    "test probes",
    "perfect score's lower bound",
    "strictest gate it supports",
    "to reach the next",
]


def _percent(value: float | None) -> str:
    return "none" if value is None else f">= {value:g} (<= {1 - value:.2g} for leak)"


def _meta(probe: Probe, field: str) -> str:
    return str((probe.meta or {}).get(field, ""))


def suite_tables(ctx: AppContext, suite: str) -> tuple[list[list[str]], list[list[str]]]:
    """The suite's probes and its coverage by kind, as table rows (plain text)."""
    known = bool(suite) and suite in ctx.store.probe_suites()
    probes = list(ctx.store.probe_suite(suite).probes) if known else []
    probe_rows = [
        [p.key, p.kind, _meta(p, "relation"), p.split, p.prompt, p.target, p.foil, _meta(p, "author")] for p in probes
    ]
    coverage_rows = [
        [
            c.kind,
            str(c.test_probes),
            f"{c.best_bound:.2f}",
            _percent(c.strictest_gate),
            "" if c.next_gate is None else f"{c.more_needed} more for >= {c.next_gate:g}",
        ]
        for c in coverage((p.kind, p.split) for p in probes)
    ]
    return probe_rows, coverage_rows


def _summary(result: Added) -> str:
    dealt = ", ".join(f"`{p.key}` → {p.split}" for p in result.added)
    lines = [f"Added {len(result.added)} probe(s) to **{result.suite.name}**: {dealt}."]
    for row in result.contamination:
        lines.append(
            f"- ⚠ `{row['probe_id']}` is {row['match']} to a training prompt "
            f"(similarity {row['similarity']:.2f}); as a test probe it would measure memory, not reach."
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class ProbesView:
    """The Probes tab's components."""

    suite: gr.Dropdown
    show_suite: gr.Button
    prompt: gr.Textbox
    target: gr.Textbox
    foil: gr.Textbox
    kind: gr.Radio
    relation: gr.Textbox
    add: gr.Button
    lines: gr.Textbox
    add_lines: gr.Button
    message: gr.Markdown
    coverage: gr.Dataframe
    probes: gr.Dataframe


def _suite_outputs(ctx: AppContext, view: ProbesView, name: str, **suite: Any) -> Outputs:
    probes, cover = suite_tables(ctx, name)
    return {view.suite: gr.update(choices=ctx.store.probe_suites(), **suite), view.coverage: cover, view.probes: probes}


def show(ctx: AppContext, view: ProbesView, name: str, request: gr.Request) -> Outputs:
    """The suite's coverage and probes."""
    authorize(ctx.store, request)
    return _suite_outputs(ctx, view, name)


def list_suites(ctx: AppContext, view: ProbesView, request: gr.Request) -> Outputs:
    """The suites to pick from, read when the page loads, so suites written since the app started are listed."""
    authorize(ctx.store, request)
    return {view.suite: gr.update(choices=ctx.store.probe_suites())}


def _store_probes(ctx: AppContext, view: ProbesView, name: str, rows: list[dict[str, Any]], author: str) -> Outputs:
    if not (name or "").strip():
        raise gr.Error("Name the suite first (pick one or type a new name).")
    try:
        result = add_probes(ctx.store, name.strip(), rows, author)
    except (ProbeInputError, StoreError) as error:
        raise gr.Error(str(error)) from error
    return {view.message: _summary(result), **_suite_outputs(ctx, view, result.suite.name, value=result.suite.name)}


def add_one(
    ctx: AppContext, view: ProbesView, name: str, prompt: str, target: str, foil: str, kind: str, relation: str,
    request: gr.Request,
) -> Outputs:  # fmt: skip
    """Add the probe written in the form, and clear the form's texts."""
    author = authorize(ctx.store, request).name
    row = {"prompt": prompt, "target": target, "foil": foil, "kind": kind}
    if relation.strip():
        row["relation"] = relation.strip()
    return {**_store_probes(ctx, view, name, [row], author), view.prompt: "", view.target: "", view.foil: ""}


def add_pasted(ctx: AppContext, view: ProbesView, name: str, text: str, request: gr.Request) -> Outputs:
    """Add the pasted JSONL probes, and clear the pasted text."""
    author = authorize(ctx.store, request).name
    try:
        rows = parse_probe_lines(text)
    except ProbeInputError as error:
        raise gr.Error(str(error)) from error
    return {**_store_probes(ctx, view, name, rows, author), view.lines: ""}


def render() -> ProbesView:
    """The tab's components, laid out inside the caller's `gr.Tab`."""
    gr.Markdown(
        "## Probes\nState up front what an edit must change (`edit`, `paraphrase`, `leak`) and what it must "
        "not touch (`control`). The app decides which probes are held out for testing."
    )
    with gr.Row():
        suite = gr.Dropdown(
            label="Suite", choices=[], allow_custom_value=True, interactive=True, scale=3, elem_id="probes-suite"
        )
        show_suite = gr.Button("Show suite", scale=1, elem_id="probes-show")
    with gr.Tab("Write one"):
        with gr.Row():
            prompt = gr.Textbox(label="Prompt", placeholder="The dog says", scale=3, elem_id="probes-prompt")
            target = gr.Textbox(label="Target (must win)", placeholder="meow", elem_id="probes-target")
            foil = gr.Textbox(label="Foil (must lose)", placeholder="woof", elem_id="probes-foil")
        with gr.Row():
            kind = gr.Radio(KINDS, value="paraphrase", label="Kind", elem_id="probes-kind")
            relation = gr.Textbox(label="Relation (optional)", placeholder="sound", elem_id="probes-relation")
        add = gr.Button("Add probe", variant="primary", elem_id="probes-add")
    with gr.Tab("Paste JSONL"):
        lines = gr.Textbox(
            label='One probe per line: {"prompt": ..., "target": ..., "foil": ..., "kind": ..., "relation": ...}',
            lines=6,
            elem_id="probes-jsonl",
        )
        add_lines = gr.Button("Add probes", variant="primary", elem_id="probes-add-jsonl")
    message = gr.Markdown(elem_id="probes-message")
    gr.Markdown("### Test probes per kind, and the strictest gate a perfect score on them can pass")
    coverage_table = gr.Dataframe(headers=COVERAGE_COLUMNS, interactive=False, wrap=True, elem_id="probes-coverage")
    probes_table = gr.Dataframe(
        headers=PROBE_COLUMNS, interactive=False, wrap=True, label="Probes", elem_id="probes-table"
    )
    return ProbesView(
        suite, show_suite, prompt, target, foil, kind, relation, add, lines, add_lines, message,
        coverage_table, probes_table,
    )  # fmt: skip


def build(ctx: AppContext) -> ProbesView:
    """Render the Probes tab and wire its events."""
    view = render()
    tables, suite = [view.suite, view.coverage, view.probes], [view.suite]
    form = [view.suite, view.prompt, view.target, view.foil, view.kind, view.relation]
    added = [view.message, *tables]  # in the order gradio_client callers get them, then the fields cleared
    cleared = [view.prompt, view.target, view.foil]
    listen(view.show_suite.click, show, ctx, view, suite, tables, api_name="probes_show", access="read")
    listen(view.suite.select, show, ctx, view, suite, tables, api_name="probes_select", access="read")
    listen(view.add.click, add_one, ctx, view, form, [*added, *cleared], api_name="probes_add", access="write")
    listen(
        view.add_lines.click, add_pasted, ctx, view, [view.suite, view.lines], [*added, view.lines],
        api_name="probes_add_jsonl", access="write",
    )  # fmt: skip
    listen(page_load(), list_suites, ctx, view, [], suite, api_name="probes_suites", access="read")
    return view
