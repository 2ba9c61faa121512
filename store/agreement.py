"""Agreement between annotators: raw agreement, Cohen's kappa, Krippendorff's alpha (nominal).

Plain functions over labels, no database: `units` maps each item to {annotator: label}.
Items judged by fewer than two annotators carry no information about agreement and are
left out, as Krippendorff prescribes. A statistic that is undefined (one label used
throughout, or nothing judged twice) is None, not a number that looks meaningful.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

Units = Mapping[Hashable, Mapping[str, str]]


@dataclass(frozen=True)
class PairAgreement:
    """Two annotators on the items both judged."""

    annotator_a: str
    annotator_b: str
    n_items: int
    raw_agreement: float | None  # share of shared items with the same label
    kappa: float | None  # Cohen's kappa


@dataclass(frozen=True)
class AgreementReport:
    """Agreement on one family of judgments (`rating`: up/down, `preference`: a/b/tie)."""

    family: str
    n_items: int  # items judged by two or more annotators
    n_judgments: int  # judgments on those items
    annotators: tuple[str, ...]
    raw_agreement: float | None  # pairwise: share of agreeing pairs of judgments within items
    alpha: float | None  # Krippendorff's alpha, nominal; handles any number and missing values
    pairs: tuple[PairAgreement, ...]

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa when exactly two annotators judged shared items, else None."""
        return self.pairs[0].kappa if len(self.pairs) == 1 else None


def cohen_kappa(labels_a: Sequence[str], labels_b: Sequence[str]) -> float | None:
    """Cohen's kappa for two annotators' labels on the same items (same order)."""
    if len(labels_a) != len(labels_b):
        raise ValueError(f"{len(labels_a)} labels against {len(labels_b)}; give one label each per item")
    n = len(labels_a)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(labels_a, labels_b, strict=True)) / n
    count_a, count_b = Counter(labels_a), Counter(labels_b)
    expected = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    if expected == 1.0:
        return None  # both used one and the same label throughout: chance explains everything
    return (observed - expected) / (1.0 - expected)


def coincidences(units: Units) -> dict[tuple[str, str], float]:
    """Krippendorff's coincidence matrix o_ck over pairable values (units with 2+ labels)."""
    matrix: defaultdict[tuple[str, str], float] = defaultdict(float)
    for labels in units.values():
        values = list(labels.values())
        if len(values) < 2:
            continue
        weight = 1.0 / (len(values) - 1)
        for i, c in enumerate(values):
            for j, k in enumerate(values):
                if i != j:
                    matrix[(c, k)] += weight
    return matrix


def krippendorff_alpha(units: Units) -> float | None:
    """Krippendorff's alpha for nominal labels; annotators may skip items (missing values)."""
    matrix = coincidences(units)
    totals: defaultdict[str, float] = defaultdict(float)
    for (c, _k), o in matrix.items():
        totals[c] += o
    n = sum(totals.values())
    disagreement_expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if n == 0 or disagreement_expected == 0:
        return None
    disagreement_observed = sum(o for (c, k), o in matrix.items() if c != k)
    return 1.0 - (n - 1) * disagreement_observed / disagreement_expected


def raw_agreement(units: Units) -> float | None:
    """The share of pairs of judgments on the same item that agree (1 - alpha's observed D_o)."""
    matrix = coincidences(units)
    n = sum(matrix.values())
    if n == 0:
        return None
    return sum(o for (c, k), o in matrix.items() if c == k) / n


def agreement_report(family: str, units: Units) -> AgreementReport:
    """Every statistic at once, with Cohen's kappa for each pair of annotators."""
    shared = {u: labels for u, labels in units.items() if len(labels) >= 2}
    annotators = sorted({a for labels in shared.values() for a in labels})
    pairs = []
    for a, b in combinations(annotators, 2):
        both = [labels for labels in shared.values() if a in labels and b in labels]
        if not both:
            continue
        labels_a, labels_b = [x[a] for x in both], [x[b] for x in both]
        pairs.append(
            PairAgreement(
                annotator_a=a,
                annotator_b=b,
                n_items=len(both),
                raw_agreement=sum(x == y for x, y in zip(labels_a, labels_b, strict=True)) / len(both),
                kappa=cohen_kappa(labels_a, labels_b),
            )
        )
    return AgreementReport(
        family=family,
        n_items=len(shared),
        n_judgments=sum(len(labels) for labels in shared.values()),
        annotators=tuple(annotators),
        raw_agreement=raw_agreement(shared),
        alpha=krippendorff_alpha(shared),
        pairs=tuple(pairs),
    )
