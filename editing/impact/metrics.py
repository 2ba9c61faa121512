"""Probe rates and margins: the rate metrics with Wilson intervals, paired tests, margin changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from editing.impact.statistics import Estimate, mcnemar_exact, paired_bootstrap, wilson_interval
from editing.vocab import KIND_ORDER, METRICS, RATE_METRICS

if TYPE_CHECKING:  # probes' scoring imports torch; this module only reads the dataclasses' fields
    from editing.probes.scoring import ProbeScore


_RATE_OF_KIND = {m.probe_kind: name for name, m in METRICS.items() if m.rate}  # "leak" -> "leak_rate"


def pair_scores(before: Sequence[ProbeScore], after: Sequence[ProbeScore]) -> list[tuple[ProbeScore, ProbeScore]]:
    """Match the two phases' scores by probe id, in the before phase's order."""
    by_id: dict[str, ProbeScore] = {}
    for score in after:
        if score.probe.id in by_id:
            raise ValueError(f"probe id {score.probe.id!r} is scored twice in the after phase")
        by_id[score.probe.id] = score
    pairs, seen = [], set()
    for score in before:
        if score.probe.id in seen:
            raise ValueError(f"probe id {score.probe.id!r} is scored twice in the before phase")
        seen.add(score.probe.id)
        if score.probe.id not in by_id:
            raise ValueError(f"probe {score.probe.id!r} is scored before the edit but not after")
        pairs.append((score, by_id[score.probe.id]))
    missing = sorted(set(by_id) - seen)
    if missing:
        raise ValueError(f"probes scored after the edit but not before: {', '.join(missing[:5])}")
    return pairs


def control_held(before: ProbeScore, after: ProbeScore) -> bool:
    """A control holds when its greedy continuation is unchanged and the old answer still wins."""
    return after.continuation == before.continuation and after.success


def probe_outcomes(
    scores: Sequence[ProbeScore], before: Sequence[ProbeScore] | None, split: str
) -> dict[str, list[bool]]:
    """Per rate metric, one boolean per probe of the split: True when the metric counts it.

    Without `before` this is the before phase, where `control_unchanged` is simply
    the control success rate (nothing has changed yet).
    """
    baseline = {s.probe.id: s for s in before} if before is not None else None
    outcomes: dict[str, list[bool]] = {name: [] for name in RATE_METRICS}
    for score in scores:
        probe = score.probe
        if probe.split != split or probe.kind not in _RATE_OF_KIND:
            continue
        if probe.kind == "leak":
            counted = not score.success  # the foil, the old answer, still wins
        elif probe.kind == "control" and baseline is not None:
            counted = control_held(baseline[probe.id], score)
        else:
            counted = score.success
        outcomes[_RATE_OF_KIND[probe.kind]].append(counted)
    return outcomes


def rate_metrics(
    scores: Sequence[ProbeScore], before: Sequence[ProbeScore] | None = None, split: str = "test"
) -> dict[str, Estimate]:
    """`edit`, `paraphrase`, `leak_rate` and `control_unchanged` with Wilson intervals.

    Pass the before phase's scores as `before` to measure an after phase (controls
    must keep their greedy continuation); leave it out to measure the before phase.
    """
    if before is not None:
        pair_scores(before, scores)
    return {name: wilson_interval(sum(hits), len(hits)) for name, hits in probe_outcomes(scores, before, split).items()}


def margin_changes(
    before: Sequence[ProbeScore], after: Sequence[ProbeScore], split: str = "test", seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Per kind, the mean change of the log-prob margin (target - foil) with interval and p."""
    by_kind: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for b, a in pair_scores(before, after):
        if b.probe.split == split:
            by_kind[b.probe.kind][0].append(b.margin)
            by_kind[b.probe.kind][1].append(a.margin)
    changes = {}
    for kind in KIND_ORDER:
        if kind in by_kind:
            estimate, p = paired_bootstrap(*by_kind[kind], seed=seed)
            changes[kind] = {**estimate.to_dict(), "p_value": p, "test": "paired_bootstrap"}
    return changes


def mcnemar_entry(before: list[bool], after: list[bool]) -> dict[str, Any]:
    return {
        "test": "mcnemar_exact",
        "p_value": mcnemar_exact(before, after) if before else None,
        "n": len(before),
        "up": sum(1 for b, a in zip(before, after, strict=True) if a and not b),  # entered the metric
        "down": sum(1 for b, a in zip(before, after, strict=True) if b and not a),  # left it
    }
