"""Probes written in the app: parse them, deal their splits, store them, flag contamination."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from editing.impact import find_contamination
from editing.probes import Probe as EditingProbe
from feedback_ui.splits import assign_splits
from store import Probe, ProbeSuite, Store
from store.probe_writing import SplitChooser, append_probes

WRITABLE_FIELDS = ("id", "prompt", "target", "foil", "kind", "relation", "subject")


class ProbeInputError(ValueError):
    """A written or pasted probe cannot be stored; the message names the line and the fix."""


def parse_probe_lines(text: str) -> list[dict[str, Any]]:
    """Probes from JSONL text (one object per line; blank lines skipped)."""
    probes = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ProbeInputError(f"line {number} is not JSON ({error.msg}); write one object per line") from error
        if not isinstance(row, dict):
            raise ProbeInputError(f"line {number} is a {type(row).__name__}, not an object with prompt, target, foil")
        if "split" in row:
            raise ProbeInputError(f"line {number} sets `split`; the app deals splits itself, so leave it out")
        extra = sorted(set(row) - set(WRITABLE_FIELDS))
        if extra:
            raise ProbeInputError(f"line {number} has unknown fields {extra}; use {', '.join(WRITABLE_FIELDS)}")
        probes.append(row)
    if not probes:
        raise ProbeInputError("no probes given; paste one JSON object per line")
    return probes


def training_prompts(store: Store) -> list[str]:
    """The prompts an edit could train on: those of every live (draft or submitted) judgment."""
    return sorted({j.prompt for j in store.judgments_for(status=("draft", "submitted"))})


def _choose_splits(suite: str) -> SplitChooser:
    def choose(existing: Sequence[Probe], new: Sequence[Mapping[str, Any]]) -> list[str]:
        def stratum(kind: Any, meta: Mapping[str, Any] | None) -> tuple[str, str]:
            return str(kind), str((meta or {}).get("relation", ""))

        return assign_splits(
            suite,
            [stratum(p.kind, p.meta) for p in existing],
            [stratum(p.get("kind"), p) for p in new],
        )

    return choose


@dataclass(frozen=True)
class Added:
    suite: ProbeSuite
    added: list[Probe]
    contamination: list[dict[str, Any]]  # rows of find_contamination, one per flagged new probe


def add_probes(store: Store, suite: str, probes: Sequence[Mapping[str, Any]], author: str) -> Added:
    """Append probes written by `author` to `suite`; splits are dealt by the app."""
    kinds = {p.get("kind") for p in probes} - {"edit", "paraphrase", "leak", "control"}
    if kinds:
        raise ProbeInputError(f"kind {sorted(map(str, kinds))} is unknown; use edit, paraphrase, leak or control")
    before = len(store.probe_suite(suite).probes) if suite in store.probe_suites() else 0
    stored = append_probes(store, suite, [{**p, "author": author} for p in probes], _choose_splits(suite))
    added = list(stored.probes[before:])
    # Every new prompt is checked as if held out: a test probe near a training prompt measures memory.
    candidates = [EditingProbe(p.key, p.prompt, p.target, p.foil, p.kind, "test") for p in added]
    return Added(stored, added, find_contamination(candidates, training_prompts(store)))
