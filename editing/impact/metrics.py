"""Probe rates and margins: the rate metrics with Wilson intervals, paired tests, margin changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from editing.impact.statistics import Estimate, mcnemar_exact, paired_bootstrap, sign_flip_test, wilson_interval
from editing.vocab import KIND_ORDER, METRICS, RATE_METRICS

if TYPE_CHECKING:  # probes' scoring imports torch; this module only reads the dataclasses' fields
    from editing.probes.scoring import ProbeScore


_RATES_OF_KIND: dict[str, list[str]] = defaultdict(list)  # "leak" -> ["leak_rate", "leak_says_new", ...]
for _name, _metric in METRICS.items():
    if _metric.rate and _metric.probe_kind:
        _RATES_OF_KIND[_metric.probe_kind].append(_name)


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
    """A control holds when its greedy continuation is unchanged and its target (the answer to keep) still
    beats the foil: it did before the edit and does after. One that flipped either way has moved."""
    return after.continuation == before.continuation and before.success and after.success


def _counted(counts: str, score: ProbeScore, before: ProbeScore | None) -> bool | None:
    """Whether `score` is one a rate of `counts` (an `OUTCOMES` key) counts; None when unmeasured."""
    if counts == "target_wins":
        return score.success
    if counts == "foil_wins":
        return not score.success
    if counts == "control_held":
        return score.success if before is None else control_held(before, score)
    said = score.says
    return None if said is None else counts == f"says_{said}"


def probe_outcomes(
    scores: Sequence[ProbeScore], before: Sequence[ProbeScore] | None, split: str
) -> dict[str, list[bool | None]]:
    """Per rate metric, one entry per probe of its kind in the split: True when the metric counts
    it, None when the probe has no greedy continuation to read (a `says` rate without one).

    Without `before` this is the before phase, where `control_unchanged` is simply
    the control success rate (nothing has changed yet).
    """
    baseline = {s.probe.id: s for s in before} if before is not None else {}
    outcomes: dict[str, list[bool | None]] = {name: [] for name in RATE_METRICS}
    for score in scores:
        if score.probe.split != split:
            continue
        for name in _RATES_OF_KIND.get(score.probe.kind, ()):
            outcomes[name].append(_counted(METRICS[name].counts or "", score, baseline.get(score.probe.id)))
    return outcomes


def rate_metrics(
    scores: Sequence[ProbeScore], before: Sequence[ProbeScore] | None = None, split: str = "test"
) -> dict[str, Estimate]:
    """Every rate metric of `editing.vocab` (`edit`, `edit_says`, `leak_rate`, ...) with Wilson intervals.

    Pass the before phase's scores as `before` to measure an after phase (controls
    must keep their greedy continuation); leave it out to measure the before phase.
    Probes without a greedy continuation are left out of the `says` rates.
    """
    if before is not None:
        pair_scores(before, scores)
    rates = {}
    for name, outcomes in probe_outcomes(scores, before, split).items():
        measured = [o for o in outcomes if o is not None]
        rates[name] = wilson_interval(sum(measured), len(measured))
    return rates


def margin_changes(
    before: Sequence[ProbeScore], after: Sequence[ProbeScore], split: str = "test", seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Per kind, the mean change of the log-prob margin (target - foil): bootstrap interval, and the
    sign-flip test's p with the smallest p its sample size allows (`sign_flip_test`)."""
    by_kind: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for b, a in pair_scores(before, after):
        if b.probe.split == split:
            by_kind[b.probe.kind][0].append(b.margin)
            by_kind[b.probe.kind][1].append(a.margin)
    changes = {}
    for kind in KIND_ORDER:
        if kind in by_kind:
            estimate, _ = paired_bootstrap(*by_kind[kind], seed=seed)
            test = sign_flip_test(*by_kind[kind], seed=seed)
            changes[kind] = {**estimate.to_dict(), "p_value": test.p_value, "p_min": test.p_min, "test": test.test}
    return changes


def mcnemar_entry(before: list[bool | None], after: list[bool | None]) -> dict[str, Any]:
    """McNemar's exact test on the probes measured in both phases, with how many flipped each way."""
    pairs = [(b, a) for b, a in zip(before, after, strict=True) if b is not None and a is not None]
    return {
        "test": "mcnemar_exact",
        "p_value": mcnemar_exact([b for b, _ in pairs], [a for _, a in pairs]) if pairs else None,
        "n": len(pairs),
        "up": sum(1 for b, a in pairs if a and not b),  # entered the metric
        "down": sum(1 for b, a in pairs if b and not a),  # left it
    }
