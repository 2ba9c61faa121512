"""What every tab of the app shares: the workspace, the store, the loaded models and the edit slot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from editing.generation import ModelCache
from feedback_ui.edit_jobs import EditJobs
from feedback_ui.on_demand import OnDemandOutputs
from store import ModelVersion, Store


@dataclass
class AppContext:
    """Built once per app by `build_app`; shared by all users' requests, which each name their user."""

    store: Store
    home: Path  # the workspace folder: reports/, adapters/, models/, edits/
    base_model: str = "toyworld"  # what annotators label until an admin promotes an edited version
    models: ModelCache = field(default_factory=ModelCache)  # each version loaded once, shared read-only
    _base_version: ModelVersion | None = field(default=None, repr=False)
    on_demand: OnDemandOutputs = field(init=False, repr=False)  # outputs generated when queues run dry
    edits: EditJobs = field(init=False, repr=False)  # the workspace's one edit slot, launched from the Edit tab

    def __post_init__(self) -> None:
        self.on_demand = OnDemandOutputs(self.store, self.models)
        self.edits = EditJobs(self.home, self.store)

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
