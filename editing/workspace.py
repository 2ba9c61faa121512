"""The folders the editing side keeps in the workspace: the toy-world model, adapters, reports.

Where the workspace is ($NUDGE_HOME, else ./.nudge) is the store's rule (store.workspace),
since the folder holds its database; the model side never reads it: it is given paths.
"""

from __future__ import annotations

from pathlib import Path

from store.workspace import nudge_home

TOYWORLD_MODEL_NAME = "toyworld-v2"  # v2: the world's names are spelled over several tokens each


def toyworld_model_dir() -> Path:
    """Where `nudge toyworld build` writes the embedded default model."""
    return nudge_home() / "models" / TOYWORLD_MODEL_NAME


def adapters_folder() -> Path:
    """Where each run's adapter is saved, in a folder named after the run."""
    return nudge_home() / "adapters"


def reports_folder() -> Path:
    """Where reports are written: a folder per run, and the ledger and comparison pages."""
    return nudge_home() / "reports"
