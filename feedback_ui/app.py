"""`build_app`: the nudge app as a `gr.Blocks`, separate from serving it, so tests get it without a server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from editing.generation import ModelCache
from feedback_ui.concurrency import DEFAULT_CONCURRENCY
from feedback_ui.context import AppContext
from feedback_ui.tabs import compare, edit, label, probes, reports, team
from store import Store


@dataclass(frozen=True)
class Tabs:
    """Each tab's components: what its handlers' results are keyed by."""

    label: label.LabelView
    compare: compare.CompareView
    probes: probes.ProbesView
    edit: edit.EditView
    reports: reports.ReportsView
    team: team.TeamView


def build(ctx: AppContext) -> tuple[gr.Blocks, Tabs]:
    """The app over `ctx`, and its tabs' components (tests call the handlers with them)."""
    with gr.Blocks(title="nudge") as app:
        gr.Markdown("# nudge")
        with gr.Tab("Label", elem_id="tab-label"):
            label_view = label.build(ctx)
        with gr.Tab("Compare", elem_id="tab-compare"):
            compare_view = compare.build(ctx)
        with gr.Tab("Probes", elem_id="tab-probes"):
            probes_view = probes.build(ctx)
        with gr.Tab("Edit", elem_id="tab-edit"):
            edit_view = edit.build(ctx)
        with gr.Tab("Reports", elem_id="tab-reports"):
            reports_view = reports.build(ctx)
        with gr.Tab("Team", elem_id="tab-team"):
            team_view = team.build(ctx)
        app.load(fn=None, js=label.KEYBOARD_SHORTCUTS_JS)
    app.queue(default_concurrency_limit=DEFAULT_CONCURRENCY)
    return app, Tabs(label_view, compare_view, probes_view, edit_view, reports_view, team_view)


def build_app(store: Store, home: Path, *, base_model: str = "toyworld", models: ModelCache | None = None) -> gr.Blocks:
    """The app over `store` and the workspace `home`; annotators label `base_model` until a version is promoted.

    `models` lets several apps in one process share loaded models (tests, the benchmark).
    """
    app, _ = build(AppContext(store=store, home=Path(home), base_model=base_model, models=models or ModelCache()))
    return app
