"""The toy world's references: `toyworld` names its model, `toyworld:NAME` its probe suites and text sets.

`register_toyworld` adds them to a reference table (editing.references); the model ships the
texts a spec on it needs by default: its retain set, its fluency text, and filler sentences
that state no fact of the world, put before prompts as context prefixes.
"""

from __future__ import annotations

from editing.probes.suites import ProbeSuite, ProbeSuiteError, read_suite, read_texts
from editing.references import NamedModel, References
from editing.toyworld.paths import TOYWORLD, TOYWORLD_SUITES, TOYWORLD_TEXTS, toyworld_suite_file, toyworld_text_file
from editing.workspace import toyworld_model_dir

TOYWORLD_MODEL = NamedModel(
    description="the toy-world model",
    folder=toyworld_model_dir,
    build="nudge toyworld build",
    retain=f"{TOYWORLD}:retain",
    fluency=f"{TOYWORLD}:fluency",
    prefixes=f"{TOYWORLD}:filler",
)


def _suite(name: str) -> ProbeSuite:
    path = toyworld_suite_file(name)
    if path is None:
        raise ProbeSuiteError(f"unknown toy-world suite '{TOYWORLD}:{name}'; known: {', '.join(TOYWORLD_SUITES)}")
    return read_suite(path, f"{TOYWORLD}:{name}")


def _texts(name: str) -> list[str]:
    path = toyworld_text_file(name)
    if path is None:
        known = ", ".join(f"{TOYWORLD}:{text}" for text in TOYWORLD_TEXTS)
        raise ValueError(f"unknown toy-world text set '{TOYWORLD}:{name}'; known: {known}")
    return read_texts(path)


def register_toyworld(references: References) -> None:
    """Add the toy world's model, suites and text sets to `references`."""
    references.add_model(TOYWORLD, TOYWORLD_MODEL)
    references.add_suites(TOYWORLD, _suite)
    references.add_texts(TOYWORLD, _texts)
