"""Wiring a tab's handlers to its events: every event of the app goes through `listen`.

A handler is a module-level function `handler(ctx, view, *inputs, request)`: it passes through
`feedback_ui.auth.authorize` first and returns its outputs keyed by component (`Outputs`), so a
test calls it directly and names what it asserts. `listen` binds the app's context and the tab's
components, gives the event the concurrency of a read or a write (feedback_ui.concurrency), and
names it for gradio_client (`api_name`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from gradio.components import Component
from gradio.context import Context
from gradio.events import Dependency

from feedback_ui.concurrency import Access, concurrency
from feedback_ui.context import AppContext

Outputs = dict[Component, Any]  # a handler's result: a value, or a gr.update, per output component
Listener = Callable[..., Dependency]  # an event of a component (`button.click`), of the page, or `.then`


def bind(handler: Callable[..., Any], *first: Any) -> Callable[..., Any]:
    """`handler` with its first arguments given, keeping the rest of its signature and its type hints:
    Gradio reads them to pass the request and event data (which functools.partial would hide)."""
    signature = inspect.signature(handler)

    @functools.wraps(handler)
    def bound(*args: Any) -> Any:
        return handler(*first, *args)

    bound.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[len(first) :]
    )
    return bound


def listen(
    listener: Listener,
    handler: Callable[..., Outputs],
    ctx: AppContext,
    view: object,
    inputs: Sequence[Component],
    outputs: Sequence[Component],
    *,
    api_name: str,
    access: Access,
    **options: Any,
) -> Dependency:
    """Run `handler(ctx, view, *inputs, request)` on `listener`'s event, as a read or a write of the store.

    `outputs` is a list, not a set, so gradio_client callers get the values in that order.
    """
    return listener(
        bind(handler, ctx, view),
        inputs=list(inputs),
        outputs=list(outputs),
        api_name=api_name,
        **concurrency(ctx.store, access),
        **options,
    )


def page_load() -> Listener:
    """The event of a browser opening the app, for a tab module built inside `build_app`'s Blocks."""
    app = Context.root_block
    if app is None:
        raise RuntimeError("page_load must be called while build_app builds its gr.Blocks")
    return app.load
