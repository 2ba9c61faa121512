"""The Probes tab (being built; this first version only shows what it will hold)."""

from __future__ import annotations

import gradio as gr

from feedback_ui.context import AppContext


def build_probes_tab(ctx: AppContext) -> None:
    """Render the Probes tab inside the caller's `gr.Tab`."""
    gr.Markdown("## Probes")
