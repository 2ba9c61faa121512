"""Estimates with honest uncertainty: Wilson and bootstrap intervals, paired bootstrap and McNemar tests.

Model-free: plain lists of numbers and booleans in, `Estimate`s and p-values
out, so every number can be checked by hand or against scipy/statsmodels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

SIGNIFICANCE = 0.05  # a change is called real when its p-value is below this
CONFIDENCE = 1 - SIGNIFICANCE  # every interval's level (95%), so an interval and a p-value draw one line
N_RESAMPLES = 10_000  # bootstrap resamples: the interval ends move by well under 0.01 between seeds
RESAMPLE_CELLS = 2_000_000  # resample matrices are built in chunks of about this many cells


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% interval and sample size; all None when n == 0."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def no_data() -> Estimate:
    return Estimate(None, None, None, 0)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """The observed rate successes/n with its Wilson score interval (sound near 0 and 1)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return no_data()
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Estimate(p, float(max(0.0, centre - half)), float(min(1.0, centre + half)), n)


def bootstrap_ratio_of_sums(
    numerators: np.ndarray, denominators: np.ndarray, seed: int, n_resamples: int
) -> np.ndarray:
    """Bootstrap replicates of sum(num)/sum(den), resampling the rows with replacement.

    With denominators of 1 this is the mean; with per-sentence NLL sums and token
    counts it is the per-token mean under a sentence (cluster) bootstrap.
    """
    rng = np.random.default_rng(seed)
    n = len(numerators)
    chunk = max(1, RESAMPLE_CELLS // n)
    replicates = []
    for start in range(0, n_resamples, chunk):
        rows = rng.integers(0, n, size=(min(chunk, n_resamples - start), n))
        replicates.append(numerators[rows].sum(axis=1) / denominators[rows].sum(axis=1))
    return np.concatenate(replicates)


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def as_array(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat list of numbers, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; drop or fix them first")
    return array


# A bootstrap of fewer units than this resamples too few distinct sets to give an interval (one
# unit gives a zero-width interval and "p < 0.001"): below it an estimate has a value and no interval.
MIN_BOOTSTRAP_UNITS = 6


def bootstrap_mean(
    values: Sequence[float], seed: int = 0, n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE
) -> Estimate:
    """The mean with a seeded percentile-bootstrap interval (same seed, same interval); no interval
    below MIN_BOOTSTRAP_UNITS values."""
    x = as_array(values, "values")
    if len(x) == 0:
        return no_data()
    if len(x) < MIN_BOOTSTRAP_UNITS:
        return Estimate(float(x.mean()), None, None, len(x))
    replicates = bootstrap_ratio_of_sums(x, np.ones_like(x), seed, n_resamples)
    low, high = percentile_interval(replicates, confidence)
    return Estimate(float(x.mean()), low, high, len(x))


def shifted_bootstrap_p(replicates: np.ndarray, observed: float) -> float:
    """Two-sided p for "no change": how often the replicates, recentred on 0, reach |observed|.

    Recentring the bootstrap distribution on the null (Efron & Tibshirani, ch. 16)
    makes it a null distribution of the statistic; the +1s keep p above 0.
    """
    null = replicates - observed
    extreme = np.count_nonzero(np.abs(null) >= abs(observed) - 1e-12)
    return float((1 + extreme) / (1 + len(replicates)))


def paired_bootstrap(
    before: Sequence[float],
    after: Sequence[float],
    seed: int = 0,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> tuple[Estimate, float | None]:
    """Mean of after - before over paired items, its bootstrap interval, and a two-sided p-value.

    Pairs are resampled together. p is the shifted-bootstrap p-value: the share of
    replicates of the mean difference, recentred on zero, at least as far from zero
    as the observed mean difference ((1 + count) / (1 + n_resamples)). Below
    MIN_BOOTSTRAP_UNITS pairs: the mean only, no interval, no p.
    """
    b, a = as_array(before, "before"), as_array(after, "after")
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(b)} before, {len(a)} after")
    if len(a) == 0:
        return no_data(), None
    diff = a - b
    if len(diff) < MIN_BOOTSTRAP_UNITS:  # too few pairs to resample: a value, no interval, no p
        return Estimate(float(diff.mean()), None, None, len(diff)), None
    replicates = bootstrap_ratio_of_sums(diff, np.ones_like(diff), seed, n_resamples)
    low, high = percentile_interval(replicates, confidence)
    observed = float(diff.mean())
    return Estimate(observed, low, high, len(diff)), shifted_bootstrap_p(replicates, observed)


def mcnemar_exact(before: Sequence[bool], after: Sequence[bool]) -> float:
    """Exact McNemar p-value for paired successes: a two-sided binomial test on the flips."""
    if len(before) != len(after):
        raise ValueError(f"paired outcomes differ in length: {len(before)} before, {len(after)} after")
    lost = sum(1 for b, a in zip(before, after, strict=True) if b and not a)
    gained = sum(1 for b, a in zip(before, after, strict=True) if a and not b)
    if lost + gained == 0:
        return 1.0
    return float(min(1.0, 2 * stats.binom.cdf(min(lost, gained), lost + gained, 0.5)))


EXACT_SIGN_FLIP_MAX_N = 16  # up to 2^16 = 65,536 sign patterns are enumerated; beyond, they are sampled
SIGN_FLIP_SAMPLES = 20_000  # Monte Carlo sign patterns beyond EXACT_SIGN_FLIP_MAX_N
# Below this many pairs that moved, even all of them moving one way gives p >= 2/2^5 = 0.0625:
# no test can say anything at 5%, so the report says "too few probes to test" instead of a p.
MIN_TESTABLE_PAIRS = 6


@dataclass(frozen=True)
class PairedTest:
    """A two-sided paired test of "no change": its p-value, the smallest p it could have given, its name."""

    test: str | None  # "sign_flip_exact" or "sign_flip_monte_carlo"; None when too few pairs to test
    p_value: float | None  # None when too few pairs moved to test
    p_min: float | None  # the smallest p-value this many pairs can give, whatever the data
    n: int


def sign_flip_test(before: Sequence[float], after: Sequence[float], seed: int = 0) -> PairedTest:
    """Paired sign-flip (permutation) test on the mean of after - before.

    Under "no change" each difference is as likely to have the other sign, so the
    null distribution of the mean comes from flipping signs. With m pairs that
    moved (differences of 0 flip to themselves) there are 2^m patterns: all are
    enumerated for m <= EXACT_SIGN_FLIP_MAX_N (exact p, never below 2/2^m), else
    SIGN_FLIP_SAMPLES are drawn (p = (1 + count) / (1 + samples), valid at any m).
    With fewer than MIN_TESTABLE_PAIRS moved pairs there is no p-value at all.
    """
    b, a = as_array(before, "before"), as_array(after, "after")
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(b)} before, {len(a)} after")
    diff = (a - b)[a != b]
    m = len(diff)
    exact_min = 2.0 ** (1 - m) if m else 1.0
    if m < MIN_TESTABLE_PAIRS:
        return PairedTest(None, None, min(1.0, exact_min), len(a))
    observed = abs(diff.mean())
    if m <= EXACT_SIGN_FLIP_MAX_N:
        patterns = 1 - 2 * ((np.arange(2**m)[:, None] >> np.arange(m)) & 1)  # (2^m, m) of +-1
        means = np.abs(patterns @ diff) / m
        p = np.count_nonzero(means >= observed - 1e-12) / len(means)
        return PairedTest("sign_flip_exact", float(p), exact_min, len(a))
    rng = np.random.default_rng(seed)
    means = np.abs(rng.choice((-1.0, 1.0), size=(SIGN_FLIP_SAMPLES, m)) @ diff) / m
    p = (1 + np.count_nonzero(means >= observed - 1e-12)) / (1 + SIGN_FLIP_SAMPLES)
    return PairedTest("sign_flip_monte_carlo", float(p), max(exact_min, 1 / (1 + SIGN_FLIP_SAMPLES)), len(a))
