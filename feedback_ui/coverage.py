"""How many test probes a suite has per kind, and which gate thresholds that count can support.

A gate passes only when its whole 95% Wilson interval clears the threshold, so even a
perfect score on n probes supports at most the Wilson lower bound of n/n (docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from editing.impact import wilson_interval

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99)  # the usual gates, as in docs/metrics.md
KINDS = ("edit", "paraphrase", "leak", "control")


def best_possible_bound(n: int) -> float:
    """The Wilson lower bound of a perfect score on n probes (0 when there are none)."""
    if not n:
        return 0.0
    low = wilson_interval(n, n).ci_low
    assert low is not None  # an interval over n > 0 probes has bounds
    return low


def probes_needed(threshold: float) -> int:
    """The smallest n whose perfect score clears `threshold` (a `>= t` or `<= 1 - t` gate)."""
    if not 0 < threshold < 1:
        raise ValueError(f"threshold {threshold} must lie strictly between 0 and 1")
    n = 1
    while best_possible_bound(n) < threshold:
        n += 1
    return n


@dataclass(frozen=True)
class KindCoverage:
    kind: str
    test_probes: int
    best_bound: float  # a perfect score's Wilson lower bound
    strictest_gate: float | None  # the strictest of THRESHOLDS it can pass, None if none
    next_gate: float | None  # the next stricter threshold, None past the last
    more_needed: int  # test probes to add to reach next_gate


def coverage(probes: Iterable[tuple[str, str]]) -> list[KindCoverage]:
    """Per kind, from (kind, split) pairs: what its test probes can support and what is missing."""
    pairs = list(probes)
    rows = []
    for kind in KINDS:
        n = sum(1 for k, split in pairs if k == kind and split == "test")
        bound = best_possible_bound(n)
        passed = [t for t in THRESHOLDS if bound >= t]
        stricter = [t for t in THRESHOLDS if bound < t]
        nxt = stricter[0] if stricter else None
        rows.append(
            KindCoverage(
                kind,
                n,
                bound,
                passed[-1] if passed else None,
                nxt,
                probes_needed(nxt) - n if nxt is not None else 0,
            )
        )
    return rows
