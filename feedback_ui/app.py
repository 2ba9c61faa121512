"""`build_app`: the nudge app as a `gr.Blocks`, separate from serving it, so tests get it without a server."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from editing.generation import ModelCache
from feedback_ui.concurrency import DEFAULT_CONCURRENCY
from feedback_ui.context import AppContext
from feedback_ui.tabs.compare import build_compare_tab
from feedback_ui.tabs.edit import build_edit_tab
from feedback_ui.tabs.label import KEYBOARD_SHORTCUTS_JS, build_label_tab
from feedback_ui.tabs.probes import build_probes_tab
from feedback_ui.tabs.reports import build_reports_tab
from feedback_ui.tabs.team import build_team_tab
from store import Store


def build_app(store: Store, home: Path, *, base_model: str = "toyworld", models: ModelCache | None = None) -> gr.Blocks:
    """The app over `store` and the workspace `home`; annotators label `base_model` until a version is promoted.

    `models` lets several apps in one process share loaded models (tests, the benchmark).
    """
    ctx = AppContext(store=store, home=Path(home), base_model=base_model, models=models or ModelCache())
    with gr.Blocks(title="nudge") as app:
        gr.Markdown("# nudge")
        with gr.Tab("Label", elem_id="tab-label"):
            build_label_tab(ctx)
        with gr.Tab("Compare", elem_id="tab-compare"):
            build_compare_tab(ctx)
        with gr.Tab("Probes", elem_id="tab-probes"):
            build_probes_tab(ctx)
        with gr.Tab("Edit", elem_id="tab-edit"):
            build_edit_tab(ctx)
        with gr.Tab("Reports", elem_id="tab-reports"):
            build_reports_tab(ctx)
        with gr.Tab("Team", elem_id="tab-team"):
            build_team_tab(ctx)
        app.load(fn=None, js=KEYBOARD_SHORTCUTS_JS)
    app.queue(default_concurrency_limit=DEFAULT_CONCURRENCY)
    return app
