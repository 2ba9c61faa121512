"""Who is asking: the one guard every handler passes through before it reads or writes anything.

Handlers never trust the page for identity or role. `authorize` reads the logged-in name from
Gradio's request and checks the account in the store on every call, so a user disabled while
logged in is refused at their next action, and an annotator calling an admin endpoint is refused
by the server whatever the page shows.
"""

from __future__ import annotations

from typing import Literal

import gradio as gr

from store import Annotator, NotFound, Store

Role = Literal["annotator", "admin"]


class AccessDenied(gr.Error):
    """The request has no logged-in, active account with the role the handler needs."""


def authorize(store: Store, request: gr.Request | None, role: Role = "annotator") -> Annotator:
    """The active account behind `request`, with at least `role`; AccessDenied otherwise."""
    name = getattr(request, "username", None) if request is not None else None
    if not name:
        raise AccessDenied("You are not logged in. Log in again.")
    try:
        account = store.annotator(name)
    except NotFound as error:
        raise AccessDenied(f"There is no account named {name!r}.") from error
    if not account.active:
        raise AccessDenied(f"The account {name!r} is disabled; ask an admin to re-enable it.")
    if role == "admin" and account.role != "admin":
        raise AccessDenied(f"{name!r} is an annotator; only an admin can do this.")
    return account
