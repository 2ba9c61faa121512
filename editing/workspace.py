"""Where the editing side keeps the embedded default model inside the workspace."""

from __future__ import annotations

from pathlib import Path

from store.workspace import nudge_home

TOYWORLD_MODEL_NAME = "toyworld-v2"  # v2: names spelled over several tokens (v1 wrote each as one)


def toyworld_model_dir() -> Path:
    """Where `nudge toyworld build` writes the embedded default model."""
    return nudge_home() / "models" / TOYWORLD_MODEL_NAME
