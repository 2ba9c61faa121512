"""What every tab of the app shares: the workspace, the store, and who is asking.

Handlers never trust the page for identity or role: they call `ctx.user(request, role)`,
which reads the logged-in name from Gradio's request and checks the account in the store
on every call, so a user disabled while logged in is refused at their next write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import gradio as gr

from editing.generation import ModelCache
from feedback_ui.on_demand import OnDemandOutputs
from store import Annotator, ModelVersion, NotFound, Store

Role = Literal["annotator", "admin"]


class AccessDenied(gr.Error):
    """The request has no logged-in, active account with the role the handler needs."""


@dataclass
class AppContext:
    """Built once per app by `build_app`; shared read-only by all users' requests."""

    store: Store
    home: Path  # the workspace folder: reports/, adapters/, models/
    base_model: str = "toyworld"  # what annotators label until an admin promotes an edited version
    models: ModelCache = field(default_factory=ModelCache)  # each version loaded once, shared read-only
    _base_version: ModelVersion | None = field(default=None, repr=False)
    on_demand: OnDemandOutputs = field(init=False, repr=False)  # outputs generated when queues run dry

    def __post_init__(self) -> None:
        self.on_demand = OnDemandOutputs(self.store, self.models)

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def current_version(self) -> ModelVersion:
        """The version annotators label now: the promoted one, else the base model."""
        return self.store.current_model_version() or self.base_version()

    def base_version(self) -> ModelVersion:
        """The base model's version, recorded once (a write) and then remembered for the life of the app."""
        if self._base_version is None:
            self._base_version = self.store.ensure_base_version(self.base_model)
        return self._base_version

    def user(self, request: gr.Request | None, role: Role = "annotator") -> Annotator:
        """The active account behind `request`, with at least `role`; AccessDenied otherwise."""
        name = getattr(request, "username", None) if request is not None else None
        if not name:
            raise AccessDenied("You are not logged in. Log in again.")
        try:
            account = self.store.annotator(name)
        except NotFound as error:
            raise AccessDenied(f"There is no account named {name!r}.") from error
        if not account.active:
            raise AccessDenied(f"The account {name!r} is disabled; ask an admin to re-enable it.")
        if role == "admin" and account.role != "admin":
            raise AccessDenied(f"{name!r} is an annotator; only an admin can do this.")
        return account
