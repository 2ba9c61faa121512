"""Load what a reference names (a model, a probe suite, a text set) through the workspace's reference table.

`workspace_references()` is the table this workspace reads: files, folders and hub ids, and the
toy world's `toyworld` and `toyworld:NAME`. A run adds the store's `store:NAME` suites to its
own copy (editing.runs.plan). Loading a model imports torch; reading a suite or texts does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from editing.probes.suites import ProbeSuite
from editing.references import ModelLoadError, References
from editing.toyworld.references import register_toyworld

if TYPE_CHECKING:
    import torch

    from editing.models import LoadedModel

__all__ = ["ModelLoadError", "load_model", "load_suite", "load_texts", "workspace_references"]


def workspace_references() -> References:
    """The reference table of this workspace: files, folders, hub ids and the toy world's references."""
    references = References()
    register_toyworld(references)
    return references


def load_suite(ref: str) -> ProbeSuite:
    """A probe suite from a JSONL file or the toy world (`toyworld:dog-cat-swap`), validated."""
    return workspace_references().load_suite(ref)


def load_texts(ref: str) -> list[str]:
    """Plain texts (a retain set, a fluency text): `toyworld:retain`, a .jsonl of {"text"}, or a .txt."""
    return workspace_references().load_texts(ref)


def load_model(ref: str, device: str | torch.device | None = None, device_map: str | None = None) -> LoadedModel:
    """Load the causal LM `ref` names (a folder, a hub id, or `toyworld`) and its tokenizer, in eval mode.

    A hub id is downloaded only because the user named it. Raises ModelLoadError with a one-line
    reason and fix for anything that cannot be loaded.
    """
    from editing.models import load_pretrained  # torch and transformers load with the first model

    return load_pretrained(workspace_references().model_source(ref), device=device, device_map=device_map)
