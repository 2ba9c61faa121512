"""nudge's model side: load, edit, probe, measure, report.

The public verbs, importable as `from editing import apply_edit`. They load on
first use, so `import editing` (and with it the `nudge` command and `store/`'s
users) never pulls in torch; type checkers see the real names through the
`TYPE_CHECKING` imports below.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from editing.errors import BadInput, NudgeError, RunFailed
    from editing.loading import load_model, load_suite
    from editing.lora import EditConfig, apply_edit, save_adapter
    from editing.probes import score_probes
    from editing.report.measure import measure_impact
    from editing.spec import EditSpec
    from editing.spec_reader import load_spec
    from editing.training_data import TrainingExample, read_feedback_file, select_examples

_HOMES = {
    "BadInput": "editing.errors",
    "EditConfig": "editing.lora",
    "EditSpec": "editing.spec",
    "NudgeError": "editing.errors",
    "RunFailed": "editing.errors",
    "TrainingExample": "editing.training_data",
    "apply_edit": "editing.lora",
    "load_model": "editing.loading",
    "load_spec": "editing.spec_reader",
    "load_suite": "editing.loading",
    "measure_impact": "editing.report.measure",
    "read_feedback_file": "editing.training_data",
    "save_adapter": "editing.lora",
    "score_probes": "editing.probes",
    "select_examples": "editing.training_data",
}

__all__ = [
    "BadInput",
    "EditConfig",
    "EditSpec",
    "NudgeError",
    "RunFailed",
    "TrainingExample",
    "apply_edit",
    "load_model",
    "load_spec",
    "load_suite",
    "measure_impact",
    "read_feedback_file",
    "save_adapter",
    "score_probes",
    "select_examples",
]


def __getattr__(name: str) -> object:
    """Import a public name's module on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module 'editing' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
