"""What happened to each probe, in a word (`took`, `leak`, `held`, `undone`, ...), one report row per probe."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from editing.impact.metrics import control_held, pair_scores
from editing.vocab import BAD_FINDINGS, KIND_ORDER, SPLIT_ORDER

if TYPE_CHECKING:  # probes' scoring imports torch; this module only reads the dataclasses' fields
    from editing.probes.scoring import ProbeScore


def _finding(before: ProbeScore, after: ProbeScore) -> str:
    kind = before.probe.kind
    if kind == "control":
        if control_held(before, after):
            return "held"
        if not before.success and not after.success and after.continuation == before.continuation:
            return "failing"  # the foil already won before the edit, and nothing it says changed
        return "damaged"
    if kind == "regression":
        held_before, held_after = (s.success and s.says in (None, "target") for s in (before, after))
        if held_after:
            return "kept"
        if held_before:
            return "undone"
    if not after.success:
        return "leak" if kind == "leak" else "missed"
    if after.says == "foil":
        return "says old"  # the margin prefers the target, the model's greedy answer is the foil
    return "third answer" if after.says == "third" else "took"


def probe_rows(before: Sequence[ProbeScore], after: Sequence[ProbeScore]) -> list[dict[str, Any]]:
    """One row per probe, leaks and damaged controls first within kind, test split first."""
    rows = []
    for b, a in pair_scores(before, after):
        p = b.probe
        rows.append(
            {
                "id": p.id,
                "kind": p.kind,
                "split": p.split,
                "relation": p.relation,
                "subject": p.subject,
                "prompt": p.prompt,
                "target": p.target,
                "foil": p.foil,
                "margin_before": b.margin,
                "margin_after": a.margin,
                "success_before": b.success,
                "success_after": a.success,
                "flipped": b.success != a.success,
                "continuation_before": b.continuation,
                "continuation_after": a.continuation,
                "says_before": b.says,
                "says_after": a.says,
                "finding": _finding(b, a),
            }
        )

    def order(row: dict[str, Any]) -> tuple[int, int, int, str]:
        kind = KIND_ORDER.index(row["kind"]) if row["kind"] in KIND_ORDER else len(KIND_ORDER)
        split = SPLIT_ORDER.index(row["split"]) if row["split"] in SPLIT_ORDER else len(SPLIT_ORDER)
        return (kind, 0 if row["finding"] in BAD_FINDINGS else 1, split, row["id"])

    return sorted(rows, key=order)
