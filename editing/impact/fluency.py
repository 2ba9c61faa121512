"""Did the edit hurt fluency: perplexity ratio on neutral text, n-gram entropy of generations."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse, stats

from editing.impact.statistics import (
    CONFIDENCE,
    MIN_BOOTSTRAP_UNITS,
    N_RESAMPLES,
    RESAMPLE_CELLS,
    Estimate,
    as_array,
    bootstrap_ratio_of_sums,
    no_data,
    percentile_interval,
    shifted_bootstrap_p,
)


def _nll_clusters(nll: Sequence[float] | Sequence[Sequence[float]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster NLL sums and token counts: a flat list is one cluster per token."""
    if len(nll) and isinstance(nll[0], Sequence | np.ndarray):
        sums = np.array([float(as_array(s, name).sum()) for s in nll], dtype=np.float64)  # type: ignore[arg-type]
        counts = np.array([len(s) for s in nll], dtype=np.float64)  # type: ignore[arg-type]
        return sums, counts
    flat = as_array(nll, name)  # type: ignore[arg-type]
    return flat, np.ones_like(flat)


def perplexity_ratio(
    nll_before: Sequence[float] | Sequence[Sequence[float]],
    nll_after: Sequence[float] | Sequence[Sequence[float]],
    seed: int = 0,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> tuple[Estimate, float | None]:
    """Perplexity after / perplexity before on the same text, with a paired bootstrap interval and p.

    Give per-token NLLs (nats), either flat (resampled per token) or as one list per
    sentence (resampled per sentence, which respects that tokens of one sentence
    move together; prefer it). The ratio is exp(mean NLL after - mean NLL before);
    n counts the resampled units. Below MIN_BOOTSTRAP_UNITS units there is no
    interval and no p (a gate on it is uncertain).
    """
    sums_b, counts_b = _nll_clusters(nll_before, "nll_before")
    sums_a, counts_a = _nll_clusters(nll_after, "nll_after")
    if not np.array_equal(counts_b, counts_a):
        raise ValueError(
            "nll_before and nll_after must score the same tokens: "
            f"{int(counts_b.sum())} tokens in {len(counts_b)} units before, "
            f"{int(counts_a.sum())} in {len(counts_a)} after"
        )
    scored = counts_a > 0  # a one-token sentence has no scored token
    sums_b, sums_a, counts_a = sums_b[scored], sums_a[scored], counts_a[scored]
    if len(counts_a) == 0:
        return no_data(), None
    log_ratio = float((sums_a.sum() - sums_b.sum()) / counts_a.sum())
    if len(counts_a) < MIN_BOOTSTRAP_UNITS:  # too few units to resample: a value, no interval, no p
        return Estimate(math.exp(log_ratio), None, None, len(counts_a)), None
    replicates = bootstrap_ratio_of_sums(sums_a - sums_b, counts_a, seed, n_resamples)
    low, high = percentile_interval(replicates, confidence)
    estimate = Estimate(math.exp(log_ratio), math.exp(low), math.exp(high), len(counts_a))
    return estimate, shifted_bootstrap_p(replicates, log_ratio)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text.casefold())


def _ngram_counts(texts: Sequence[str], n: int) -> list[Counter[tuple[str, ...]]]:
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    counts = []
    for text in texts:
        words = _words(text)
        counts.append(Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1)))
    return counts


def _entropy_bits(counts: np.ndarray) -> np.ndarray:
    """Entropy in bits of each row of a count matrix (rows are distributions)."""
    totals = counts.sum(axis=-1, keepdims=True)
    p = np.divide(counts, totals, out=np.zeros_like(counts, dtype=float), where=totals > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=-1)


def ngram_entropy(texts: Sequence[str], n: int = 2) -> float:
    """Entropy (bits) of the n-gram distribution pooled over all texts, words casefolded.

    Like ROME's generation entropy, a repetitive, degenerate model scores low. Pooled
    rather than per text because probe generations are a few tokens long: per text,
    almost every n-gram is unique and the entropy only measures length.
    """
    pooled: Counter[tuple[str, ...]] = Counter()
    for counts in _ngram_counts(texts, n):
        pooled.update(counts)
    return float(_entropy_bits(np.array(list(pooled.values()), dtype=float))) if pooled else 0.0


def _entropy_matrix(texts: Sequence[str], n: int, vocabulary: dict[tuple[str, ...], int]) -> sparse.csr_matrix:
    rows, cols, data = [], [], []
    for i, counts in enumerate(_ngram_counts(texts, n)):
        for gram, count in counts.items():
            rows.append(i)
            cols.append(vocabulary.setdefault(gram, len(vocabulary)))
            data.append(count)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(texts), max(1, len(vocabulary))), dtype=float)


def _leave_one_out_entropies(counts: sparse.csr_matrix) -> np.ndarray:
    """Entropy of the pooled n-grams with each text left out in turn, (texts,)."""
    total = np.asarray(counts.sum(axis=0))
    chunk = max(1, RESAMPLE_CELLS // counts.shape[1])
    return np.concatenate(
        [_entropy_bits(total - counts[i : i + chunk].toarray()) for i in range(0, counts.shape[0], chunk)]
    )


def _jackknife_se(leave_one_out: np.ndarray) -> float:
    k = len(leave_one_out)
    return float(math.sqrt((k - 1) / k * np.sum((leave_one_out - leave_one_out.mean()) ** 2)))


def paired_entropy(
    before: Sequence[str], after: Sequence[str], n: int = 2, confidence: float = CONFIDENCE
) -> tuple[Estimate, Estimate, float | None]:
    """n-gram entropy of the before and after generations of the same prompts, intervals and p.

    Intervals and the test are jackknife (leave one prompt out, normal approximation),
    not bootstrap: a resample repeats texts, and a repeated text brings no new
    n-grams, so bootstrap replicates of a diversity measure sit below the estimate
    (their percentile interval can miss it altogether). The p-value tests the
    paired change after - before with the jackknife standard error of the difference.
    Below MIN_BOOTSTRAP_UNITS prompts: the values only, no intervals, no p.
    """
    if len(before) != len(after):
        raise ValueError(f"paired generations differ in length: {len(before)} before, {len(after)} after")
    k = len(before)
    if k == 0:
        return no_data(), no_data(), None
    value_b, value_a = ngram_entropy(before, n), ngram_entropy(after, n)
    if k < MIN_BOOTSTRAP_UNITS:  # two prompts once gave a zero-width interval, a passing gate and p < 0.001
        return Estimate(value_b, None, None, k), Estimate(value_a, None, None, k), None
    vocabulary: dict[tuple[str, ...], int] = {}
    counts_b = _entropy_matrix(before, n, vocabulary)
    counts_a = _entropy_matrix(after, n, vocabulary)
    width = max(1, len(vocabulary))
    counts_b.resize((k, width))
    counts_a.resize((k, width))
    loo_b, loo_a = _leave_one_out_entropies(counts_b), _leave_one_out_entropies(counts_a)
    z = stats.norm.ppf(1 - (1 - confidence) / 2)

    def estimate(value: float, leave_one_out: np.ndarray) -> Estimate:
        half = z * _jackknife_se(leave_one_out)
        return Estimate(value, max(0.0, value - half), value + half, k)

    change, se = value_a - value_b, _jackknife_se(loo_a - loo_b)
    p = 1.0 if abs(change) < 1e-12 else float(2 * stats.norm.sf(abs(change) / se)) if se > 0 else None
    return estimate(value_b, loo_b), estimate(value_a, loo_a), p
