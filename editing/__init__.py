"""nudge's model side: load, edit, probe, measure, report.

The public verbs, importable as `from editing import apply_edit`. They load
lazily, so `store/` (which only needs `editing.workspace`) never pulls in torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "EditConfig": "editing.lora",
    "EditSpec": "editing.spec",
    "TrainingExample": "editing.training_data",
    "apply_edit": "editing.lora",
    "load_model": "editing.models",
    "load_spec": "editing.spec",
    "load_suite": "editing.probes",
    "measure_impact": "editing.impact",
    "read_feedback_file": "editing.training_data",
    "save_adapter": "editing.lora",
    "score_probes": "editing.probes",
    "select_examples": "editing.training_data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'editing' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
