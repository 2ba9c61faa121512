"""Probe suites (`suites`), and batched scoring of them before and after an edit (`scoring`).

Importable as `from editing.probes import read_suite, score_probes`. The scoring
names load lazily, so reading a suite (`editing.probes.suites`) never pulls in torch.
A reference such as `toyworld:dog-cat-swap` is loaded by `editing.loading.load_suite`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from editing.probes.suites import Probe, ProbeSuite, ProbeSuiteError, parse_probe, read_suite, read_texts

_SCORING = (
    "CompletionScore",
    "ProbeScore",
    "adapter_disabled",
    "greedy_continuations",
    "kl_from_base_logprobs",
    "kl_per_position",
    "kl_to_base",
    "score_completions",
    "score_probes",
    "token_nlls",
)

__all__ = [  # the eager names, then the lazy ones
    "Probe",
    "ProbeSuite",
    "ProbeSuiteError",
    "parse_probe",
    "read_suite",
    "read_texts",
    *_SCORING,
]


def __getattr__(name: str) -> Any:
    if name not in _SCORING:
        raise AttributeError(f"module 'editing.probes' has no attribute {name!r}")
    return getattr(import_module("editing.probes.scoring"), name)
