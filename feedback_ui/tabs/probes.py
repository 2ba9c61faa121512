"""The Probes tab: write probes for a suite, one at a time or pasted as JSONL, and see its coverage.

Anyone logged in may write probes; the app deals their splits (feedback_ui.splits), so nobody
chooses what is held out. Each suite shows its test probes per kind and the strictest gate that
count can support, and every new probe near a training prompt is flagged.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from feedback_ui.concurrency import writes
from feedback_ui.context import AppContext
from feedback_ui.coverage import coverage
from feedback_ui.page import on_page_load
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


def build_probes_tab(ctx: AppContext) -> None:
    """Render the Probes tab inside the caller's `gr.Tab`."""
    gr.Markdown(
        "## Probes\nState up front what an edit must change (`edit`, `paraphrase`, `leak`) and what it must "
        "not touch (`control`). The app decides which probes are held out for testing."
    )
    with gr.Row():
        suite = gr.Dropdown(
            label="Suite",
            choices=ctx.store.probe_suites(),
            allow_custom_value=True,
            interactive=True,
            scale=3,
            elem_id="probes-suite",
        )
        refresh = gr.Button("Show suite", scale=1, elem_id="probes-show")
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
        add_many = gr.Button("Add probes", variant="primary", elem_id="probes-add-jsonl")
    message = gr.Markdown(elem_id="probes-message")
    gr.Markdown("### Test probes per kind, and the strictest gate a perfect score on them can pass")
    coverage_table = gr.Dataframe(headers=COVERAGE_COLUMNS, interactive=False, wrap=True, elem_id="probes-coverage")
    probes_table = gr.Dataframe(
        headers=PROBE_COLUMNS, interactive=False, wrap=True, label="Probes", elem_id="probes-table"
    )

    def show(name: str, request: gr.Request) -> tuple[dict[str, Any], list[list[str]], list[list[str]]]:
        ctx.user(request)
        probes, cover = suite_tables(ctx, name)
        return gr.update(choices=ctx.store.probe_suites()), cover, probes

    def list_suites(request: gr.Request) -> dict[str, Any]:
        ctx.user(request)
        return gr.update(choices=ctx.store.probe_suites())

    def store_probes(
        name: str, rows: list[dict[str, Any]], request: gr.Request
    ) -> tuple[str, dict[str, Any], list[list[str]], list[list[str]]]:
        author = ctx.user(request).name
        if not (name or "").strip():
            raise gr.Error("Name the suite first (pick one or type a new name).")
        try:
            result = add_probes(ctx.store, name.strip(), rows, author)
        except (ProbeInputError, StoreError) as error:
            raise gr.Error(str(error)) from error
        probes, cover = suite_tables(ctx, result.suite.name)
        return _summary(result), gr.update(choices=ctx.store.probe_suites(), value=result.suite.name), cover, probes

    def add_one(
        name: str, prompt: str, target: str, foil: str, kind: str, relation: str, request: gr.Request
    ) -> tuple[Any, ...]:
        row = {"prompt": prompt, "target": target, "foil": foil, "kind": kind}
        if relation.strip():
            row["relation"] = relation.strip()
        return *store_probes(name, [row], request), "", "", ""

    def add_pasted(name: str, text: str, request: gr.Request) -> tuple[Any, ...]:
        ctx.user(request)
        try:
            rows = parse_probe_lines(text)
        except ProbeInputError as error:
            raise gr.Error(str(error)) from error
        return *store_probes(name, rows, request), ""

    outputs = [message, suite, coverage_table, probes_table]
    refresh.click(show, [suite], [suite, coverage_table, probes_table], api_name="probes_show")
    suite.select(show, [suite], [suite, coverage_table, probes_table], api_name="probes_select")
    store_writes = writes(ctx.store)
    added = [*outputs, prompt, target, foil]
    add.click(add_one, [suite, prompt, target, foil, kind, relation], added, api_name="probes_add", **store_writes)
    add_many.click(add_pasted, [suite, lines], [*outputs, lines], api_name="probes_add_jsonl", **store_writes)
    on_page_load(list_suites, [], [suite], api_name="probes_suites")  # suites written since the app started
