"""Events of the whole page that a tab module can attach to without holding the app object."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
from gradio.context import Context


def on_page_load(
    fn: Callable[..., Any],
    inputs: Sequence[gr.components.Component],
    outputs: Sequence[Any],
    api_name: str,
    **options: Any,
) -> Any:
    """Run `fn` each time a browser opens the app (the tab modules are built inside `build_app`'s Blocks).

    `options` are the event's other options, such as its concurrency (feedback_ui.concurrency).
    """
    app = Context.root_block
    if app is None:
        raise RuntimeError("on_page_load must be called while build_app builds its gr.Blocks")
    return app.load(fn, inputs=list(inputs), outputs=list(outputs), api_name=api_name, **options)
