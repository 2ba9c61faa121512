"""Serving the app: open the workspace's store, check logins against it, and launch on loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

import gradio as gr

from editing.generation import ModelCache
from feedback_ui.app import build_app
from store import Store
from store.db import database_url

FAILED_LOGIN_DELAY_S = 0.5  # per recent failure, capped: guessing gets slower before the lock
MAX_LOGIN_DELAY_S = 3.0


class ExposedHostWarning(UserWarning):
    """The app listens beyond this machine; anyone who can reach the port sees the login page."""


def login_checker(store: Store) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's `auth` callable: the store checks the password, records the try and locks after failures.

    Async, so a slowed failure waits without holding up the server's event loop.
    """

    async def check(name: str, password: str) -> bool:
        if await asyncio.to_thread(store.log_in, name, password):
            return True
        failures = await asyncio.to_thread(store.failed_logins, name)
        await asyncio.sleep(min(MAX_LOGIN_DELAY_S, FAILED_LOGIN_DELAY_S * failures))
        return False

    return check


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    home: Path,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    db_url: str | None = None,
    base_model: str = "toyworld",
    models: ModelCache | None = None,
    block: bool = True,
) -> gr.Blocks:
    """Open the store ($NUDGE_DB or `db_url`, else `home`/nudge.db) and serve the app until stopped.

    `models` shares loaded models with other apps in the process. With `block=False` it returns at
    once with the app running; the caller stops it with `app.close()`.
    Never shared through Gradio's tunnel; a host other than loopback gets an `ExposedHostWarning`.
    """
    if not is_loopback(host):
        warnings.warn(
            f"serving on {host}: anyone who can reach port {port} sees the login page; "
            "put it behind HTTPS (a reverse proxy) before people log in over a network",
            ExposedHostWarning,
            stacklevel=2,
        )
    store = Store.open(db_url or database_url(Path(home)))
    app = build_app(store, Path(home), base_model=base_model, models=models)
    app.launch(
        server_name=host,
        server_port=port,
        # gradio awaits a coroutine function here, though its annotation names only a plain callable
        auth=login_checker(store),  # type: ignore[arg-type]
        auth_message="Log in with your nudge account (an admin creates it with `nudge user add`).",
        share=False,
        prevent_thread_lock=not block,
        show_error=True,
        quiet=True,
    )
    return app
