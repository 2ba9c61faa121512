"""Probe suites (`suites`), and batched scoring of them before and after an edit (`scoring`).

Importable as `from editing.probes import load_suite, score_probes`. The scoring
names load lazily, so reading a suite (`editing.probes.suites`) never pulls in torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from editing.probes.suites import Probe, ProbeSuite, ProbeSuiteError, load_suite, load_texts, parse_probe
from editing.toyworld.paths import TOYWORLD_DATA

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
    "TOYWORLD_DATA",
    "Probe",
    "ProbeSuite",
    "ProbeSuiteError",
    "load_suite",
    "load_texts",
    "parse_probe",
    *_SCORING,
]


def __getattr__(name: str) -> Any:
    if name not in _SCORING:
        raise AttributeError(f"module 'editing.probes' has no attribute {name!r}")
    return getattr(import_module("editing.probes.scoring"), name)
