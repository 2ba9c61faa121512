"""Where nudge keeps its files: the workspace folder ($NUDGE_HOME, else ./.nudge)."""

from __future__ import annotations

import os
from pathlib import Path

TOYWORLD_MODEL_NAME = "toyworld-v1"


def nudge_home() -> Path:
    """The workspace folder; like a git repo, one per project."""
    return Path(os.environ.get("NUDGE_HOME", ".nudge")).expanduser().resolve()


def toyworld_model_dir() -> Path:
    """Where `nudge toyworld build` writes the embedded default model."""
    return nudge_home() / "models" / TOYWORLD_MODEL_NAME
