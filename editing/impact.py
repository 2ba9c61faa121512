"""What an edit did, in numbers with honest uncertainty: metrics, paired tests, gates, contamination.

Model-free on purpose: everything here takes plain data (scored probes, lists of
floats, strings) so it can be checked by hand and reused outside nudge. The
report's `metrics`, `verdict`, `probes` and `summary` sections come from
`measure_impact`; `docs/metrics.md` says what every number means.
"""

from __future__ import annotations

import bisect
import difflib
import math
import operator
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse, stats

if TYPE_CHECKING:  # probes.py imports torch; this module only reads the dataclasses' fields
    from editing.probes import Probe, ProbeScore

CONFIDENCE = 0.95
N_RESAMPLES = 10_000  # bootstrap resamples: the interval ends move by well under 0.01 between seeds
RATE_METRICS = ("edit", "paraphrase", "leak_rate", "control_unchanged")
FLUENCY_METRICS = ("kl", "ppl_ratio", "ngram_entropy")
METRICS = RATE_METRICS + FLUENCY_METRICS
GATE_ALIASES = {"leak": "leak_rate"}  # DESIGN.md writes `leak <= 0.2`
KIND_ORDER = ("leak", "control", "edit", "paraphrase")
_RESAMPLE_CELLS = 2_000_000  # resample matrices are built in chunks of about this many cells


# --- estimates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% interval and sample size; all None when n == 0."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _no_data() -> Estimate:
    return Estimate(None, None, None, 0)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """The observed rate successes/n with its Wilson score interval (sound near 0 and 1)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return _no_data()
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Estimate(p, float(max(0.0, centre - half)), float(min(1.0, centre + half)), n)


def _bootstrap_ratio_of_sums(
    numerators: np.ndarray, denominators: np.ndarray, seed: int, n_resamples: int
) -> np.ndarray:
    """Bootstrap replicates of sum(num)/sum(den), resampling the rows with replacement.

    With denominators of 1 this is the mean; with per-sentence NLL sums and token
    counts it is the per-token mean under a sentence (cluster) bootstrap.
    """
    rng = np.random.default_rng(seed)
    n = len(numerators)
    chunk = max(1, _RESAMPLE_CELLS // n)
    replicates = []
    for start in range(0, n_resamples, chunk):
        rows = rng.integers(0, n, size=(min(chunk, n_resamples - start), n))
        replicates.append(numerators[rows].sum(axis=1) / denominators[rows].sum(axis=1))
    return np.concatenate(replicates)


def _percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _as_array(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat list of numbers, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; drop or fix them first")
    return array


def bootstrap_mean(
    values: Sequence[float], seed: int = 0, n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE
) -> Estimate:
    """The mean with a seeded percentile-bootstrap interval (same seed, same interval)."""
    x = _as_array(values, "values")
    if len(x) == 0:
        return _no_data()
    replicates = _bootstrap_ratio_of_sums(x, np.ones_like(x), seed, n_resamples)
    low, high = _percentile_interval(replicates, confidence)
    return Estimate(float(x.mean()), low, high, len(x))


def _shifted_bootstrap_p(replicates: np.ndarray, observed: float) -> float:
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
    as the observed mean difference ((1 + count) / (1 + n_resamples)).
    """
    b, a = _as_array(before, "before"), _as_array(after, "after")
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(b)} before, {len(a)} after")
    if len(a) == 0:
        return _no_data(), None
    diff = a - b
    replicates = _bootstrap_ratio_of_sums(diff, np.ones_like(diff), seed, n_resamples)
    low, high = _percentile_interval(replicates, confidence)
    observed = float(diff.mean())
    return Estimate(observed, low, high, len(diff)), _shifted_bootstrap_p(replicates, observed)


def mcnemar_exact(before: Sequence[bool], after: Sequence[bool]) -> float:
    """Exact McNemar p-value for paired successes: a two-sided binomial test on the flips."""
    if len(before) != len(after):
        raise ValueError(f"paired outcomes differ in length: {len(before)} before, {len(after)} after")
    lost = sum(1 for b, a in zip(before, after, strict=True) if b and not a)
    gained = sum(1 for b, a in zip(before, after, strict=True) if a and not b)
    if lost + gained == 0:
        return 1.0
    return float(min(1.0, 2 * stats.binom.cdf(min(lost, gained), lost + gained, 0.5)))


# --- fluency: perplexity ratio and n-gram entropy ---------------------------------------------


def _nll_clusters(nll: Sequence[float] | Sequence[Sequence[float]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster NLL sums and token counts: a flat list is one cluster per token."""
    if len(nll) and isinstance(nll[0], Sequence | np.ndarray):
        sums = np.array([_as_array(s, name).sum() for s in nll])  # type: ignore[arg-type]
        counts = np.array([len(s) for s in nll], dtype=float)  # type: ignore[arg-type]
        return sums, counts
    flat = _as_array(nll, name)  # type: ignore[arg-type]
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
    n counts the resampled units.
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
        return _no_data(), None
    log_ratio = float((sums_a.sum() - sums_b.sum()) / counts_a.sum())
    replicates = _bootstrap_ratio_of_sums(sums_a - sums_b, counts_a, seed, n_resamples)
    low, high = _percentile_interval(replicates, confidence)
    estimate = Estimate(math.exp(log_ratio), math.exp(low), math.exp(high), len(counts_a))
    return estimate, _shifted_bootstrap_p(replicates, log_ratio)


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
    chunk = max(1, _RESAMPLE_CELLS // counts.shape[1])
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
    """
    if len(before) != len(after):
        raise ValueError(f"paired generations differ in length: {len(before)} before, {len(after)} after")
    k = len(before)
    if k == 0:
        return _no_data(), _no_data(), None
    value_b, value_a = ngram_entropy(before, n), ngram_entropy(after, n)
    if k < 2:
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


# --- probe metrics -----------------------------------------------------------------------------


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


def _control_held(before: ProbeScore, after: ProbeScore) -> bool:
    return after.continuation == before.continuation and after.success


def _outcomes(scores: Sequence[ProbeScore], before: Sequence[ProbeScore] | None, split: str) -> dict[str, list[bool]]:
    """Per rate metric, one boolean per probe of the split: True when the metric counts it.

    Without `before` this is the before phase, where `control_unchanged` is simply
    the control success rate (nothing has changed yet).
    """
    baseline = {s.probe.id: s for s in before} if before is not None else None
    outcomes: dict[str, list[bool]] = {name: [] for name in RATE_METRICS}
    for score in scores:
        probe = score.probe
        if probe.split != split:
            continue
        if probe.kind in ("edit", "paraphrase"):
            outcomes[probe.kind].append(score.success)
        elif probe.kind == "leak":
            outcomes["leak_rate"].append(not score.success)  # the foil, the old answer, still wins
        elif probe.kind == "control":
            if baseline is None:
                outcomes["control_unchanged"].append(score.success)
            else:
                outcomes["control_unchanged"].append(_control_held(baseline[probe.id], score))
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
    return {name: wilson_interval(sum(hits), len(hits)) for name, hits in _outcomes(scores, before, split).items()}


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


def _mcnemar_entry(before: list[bool], after: list[bool]) -> dict[str, Any]:
    return {
        "test": "mcnemar_exact",
        "p_value": mcnemar_exact(before, after) if before else None,
        "n": len(before),
        "up": sum(1 for b, a in zip(before, after, strict=True) if a and not b),  # entered the metric
        "down": sum(1 for b, a in zip(before, after, strict=True) if b and not a),  # left it
    }


# --- gates -------------------------------------------------------------------------------------

_GATE_PATTERN = re.compile(r"^\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_COMPARISONS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_GATE_FORM = 'a comparison and a number, one of ">= 0.95", "> 0.5", "<= 0.2", "< 1.1"'


@dataclass(frozen=True)
class Gate:
    """A threshold on one test-split metric, e.g. Gate("paraphrase", ">=", 0.8)."""

    name: str  # a key of METRICS
    op: str  # ">=", ">", "<=" or "<"
    threshold: float

    def status(self, estimate: Estimate) -> str:
        """`pass` when the whole interval passes, `fail` when none of it does, else `uncertain`."""
        if estimate.ci_low is None or estimate.ci_high is None:
            return "uncertain"  # no test probes: nothing shows the gate holds
        compare = _COMPARISONS[self.op]
        low_passes = compare(estimate.ci_low, self.threshold)
        high_passes = compare(estimate.ci_high, self.threshold)
        if low_passes and high_passes:
            return "pass"
        if not low_passes and not high_passes:
            return "fail"
        return "uncertain"


def parse_gate(name: str, spec: str) -> Gate:
    """Read a gate such as ("paraphrase", ">= 0.8"); `leak` is accepted for `leak_rate`."""
    canonical = GATE_ALIASES.get(name, name)
    if canonical not in METRICS:
        raise ValueError(f"unknown gate {name!r}; gates can be set on: {', '.join(METRICS)}")
    match = _GATE_PATTERN.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise ValueError(f"gate {name!r} has threshold {spec!r}; write {_GATE_FORM}")
    return Gate(canonical, match.group(1), float(match.group(2)))


def evaluate_gates(gates: Mapping[str, str], metrics: Mapping[str, Estimate], strict: bool = False) -> dict[str, Any]:
    """The verdict: each gate judged on its metric's interval, and whether the edit passes.

    The edit passes when no gate fails and, with `strict`, none is uncertain either.
    """
    rows = []
    for name, spec in gates.items():
        gate = parse_gate(name, spec)
        estimate = metrics.get(gate.name, _no_data())
        rows.append(
            {
                "name": gate.name,
                "value": estimate.value,
                "ci_low": estimate.ci_low,
                "ci_high": estimate.ci_high,
                "n": estimate.n,
                "threshold": f"{gate.op} {gate.threshold:g}",
                "status": gate.status(estimate),
            }
        )
    statuses = {row["status"] for row in rows}
    status = "fail" if "fail" in statuses else "uncertain" if "uncertain" in statuses else "pass"
    passed = status == "pass" or (status == "uncertain" and not strict)
    return {"passed": passed, "status": status, "strict": strict, "split": "test", "gates": rows}


# --- contamination ----------------------------------------------------------------------------

CONTAINMENT_MIN_WORDS = 3  # "the dog" inside a longer prompt is a coincidence; "the dog says" is a copy
# Words that carry no question of their own: prompts differing only in these are the same question.
# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "at", "is", "are", "was", "were", "be", "been", "it", "its",
    "this", "that", "these", "those", "and", "or", "for", "with", "by", "as", "from", "do", "does", "did",
})
# fmt: on


def normalise_prompt(text: str) -> str:
    """Casefold, drop punctuation, collapse whitespace: "Q: The Dog  says?" -> "q the dog says"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return " ".join(text.split())


def content_words(normalised: str) -> list[str]:
    """The words that make a prompt's question, crudely stemmed: "the dogs says" -> ["dog", "say"]."""
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in normalised.split() if w not in STOP_WORDS]


def _word_matrix(texts: Sequence[list[str]], vocabulary: dict[tuple[str, int], int], grow: bool) -> sparse.csr_matrix:
    """One row per text, one binary column per (word, occurrence): "a b a" -> (a,1), (b,1), (a,2).

    The dot product of two rows is then the size of their multiset intersection.
    Words outside a frozen vocabulary are left out.
    """
    rows, cols = [], []
    for i, words in enumerate(texts):
        seen: Counter[str] = Counter()
        for word in words:
            seen[word] += 1
            key = (word, seen[word])
            column = vocabulary.setdefault(key, len(vocabulary)) if grow else vocabulary.get(key)
            if column is not None:
                rows.append(i)
                cols.append(column)
    shape = (len(texts), max(1, len(vocabulary)))
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=shape)


def _contains(outer: str, inner: str) -> bool:
    """`inner` appears in `outer` as whole words, and is long enough for that to mean a copy."""
    return len(inner.split()) >= CONTAINMENT_MIN_WORDS and f" {inner} " in f" {outer} "


def _occurrences(needle: str, haystack: str, starts: list[int]) -> set[int]:
    """Indices of the texts (joined as " t " lines, beginning at `starts`) that contain `needle` as whole words."""
    found, position = set(), haystack.find(needle)
    while position != -1:
        found.add(bisect.bisect_right(starts, position) - 1)
        position = haystack.find(needle, position + 1)
    return found


def _joined(texts: Sequence[str]) -> tuple[str, list[int]]:
    starts, position = [], 0
    for text in texts:
        starts.append(position)
        position += len(text) + 3  # " text \n"
    return "".join(f" {t} \n" for t in texts), starts


def _near_candidates(tests: list[list[str]], trains: list[list[str]], threshold: float) -> dict[int, set[int]]:
    """Pairs (test, training) that can reach a word ratio of `threshold`, found with sparse algebra.

    difflib's ratio is 2M / (a + b) with M matched words, and M is at most the
    multiset overlap of the two word lists (difflib's `quick_ratio`); pairs whose
    overlap or lengths fall short cannot reach the threshold.
    """
    vocabulary: dict[tuple[str, int], int] = {}
    train_counts = _word_matrix(trains, vocabulary, grow=True)
    train_lengths = np.array([len(t) for t in trains])
    candidates: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(tests), 1_000):
        block = tests[start : start + 1_000]
        shared = (_word_matrix(block, vocabulary, grow=False) @ train_counts.T).tocoo()
        a = np.array([len(t) for t in block])[shared.row]
        b = train_lengths[shared.col]
        keep = (2 * shared.data >= threshold * (a + b)) & (2 * np.minimum(a, b) >= threshold * (a + b))
        for i, j in zip(shared.row[keep], shared.col[keep], strict=True):
            candidates[start + int(i)].add(int(j))
    return candidates


def find_contamination(
    test_prompts: Sequence[Probe],
    training_prompts: Sequence[str],
    threshold: float = 0.9,
    either_way: bool = False,
) -> list[dict[str, Any]]:
    """Test-split probes whose prompt equals or nearly equals a training prompt, one row each.

    Prompts are compared normalised (`normalise_prompt`). A probe is flagged when

    - it equals a training prompt (`match: "exact"`, found by hash);
    - difflib's ratio over their content words (`content_words`: stop words out,
      plural s off) reaches `threshold` (`"near"`). Words, not characters: "When a
      dog talks, it says" and "When a cow talks, it says" are 92% the same
      characters but a different question, while "the dogs" and "the dog" are not;
    - a training text contains the probe's prompt as whole words, at least
      CONTAINMENT_MIN_WORDS of them (`"contained"`): the model trained on that very
      context. The other way round, a probe that wraps a training prompt in new
      words ("Everyone knows that the dog says" around "The dog says") is the
      CounterFact kind of paraphrase, held out by design; `either_way=True` flags
      those too.

    `similarity` is the content-word ratio (1.0 for exact copies). Probes of other
    splits are ignored. 10,000 probes against 1,000 examples take about a second.
    """
    probes = [p for p in test_prompts if p.split == "test"]
    tests = [normalise_prompt(p.prompt) for p in probes]
    trains = [normalise_prompt(t) for t in training_prompts]
    test_words = [content_words(t) for t in tests]
    train_words = [content_words(t) for t in trains]
    exact: dict[str, int] = {}
    for j, text in enumerate(trains):
        exact.setdefault(text, j)

    candidates = _near_candidates(test_words, train_words, threshold)
    # Contained as whole words, found by searching one joined string per direction.
    train_text, train_starts = _joined(trains)
    test_text, test_starts = _joined(tests)
    for i, text in enumerate(tests):
        if len(text.split()) >= CONTAINMENT_MIN_WORDS and text not in exact:
            candidates[i] |= _occurrences(f" {text} ", train_text, train_starts)
    for j, text in enumerate(trains if either_way else ()):
        if len(text.split()) >= CONTAINMENT_MIN_WORDS:
            for i in _occurrences(f" {text} ", test_text, test_starts):
                candidates[i].add(j)

    found = []
    for i, probe in enumerate(probes):
        if not tests[i]:
            continue
        if tests[i] in exact:
            best_j, best_similarity, match = exact[tests[i]], 1.0, "exact"
        else:
            best_j, best_similarity, match = -1, -1.0, ""
            for j in sorted(candidates.get(i, ())):
                contained = _contains(trains[j], tests[i]) or (either_way and _contains(tests[i], trains[j]))
                similarity = difflib.SequenceMatcher(None, test_words[i], train_words[j], autojunk=False).ratio()
                if (similarity >= threshold or contained) and similarity > best_similarity:
                    best_j, best_similarity = j, similarity
                    match = "near" if similarity >= threshold else "contained"
            if best_j < 0:
                continue
        found.append(
            {
                "probe_id": probe.id,
                "prompt": probe.prompt,
                "training_prompt": training_prompts[best_j],
                "similarity": round(best_similarity, 4),
                "match": match,
            }
        )
    return found


# --- per-probe rows and the plain-words summary ------------------------------------------------

_BAD_FINDINGS = ("leak", "damaged", "missed")
_SPLIT_ORDER = ("test", "val", "train")


def _finding(before: ProbeScore, after: ProbeScore) -> str:
    kind = before.probe.kind
    if kind == "control":
        return "held" if _control_held(before, after) else "damaged"
    if kind == "leak":
        return "took" if after.success else "leak"
    return "took" if after.success else "missed"


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
                "finding": _finding(b, a),
            }
        )

    def order(row: dict[str, Any]) -> tuple[int, int, int, str]:
        kind = KIND_ORDER.index(row["kind"]) if row["kind"] in KIND_ORDER else len(KIND_ORDER)
        split = _SPLIT_ORDER.index(row["split"]) if row["split"] in _SPLIT_ORDER else len(_SPLIT_ORDER)
        return (kind, 0 if row["finding"] in _BAD_FINDINGS else 1, split, row["id"])

    return sorted(rows, key=order)


def _percent(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _interval(estimate: Estimate | Mapping[str, Any], digits: str = ".2f") -> str:
    e = estimate if isinstance(estimate, Mapping) else estimate.to_dict()
    if e["ci_low"] is None:
        return "no interval"
    return f"95% CI {e['ci_low']:{digits}} to {e['ci_high']:{digits}}"


def _rate_interval(estimate: Estimate) -> str:
    if estimate.ci_low is None:
        return "no interval"
    return f"95% CI {_percent(estimate.ci_low)} to {_percent(estimate.ci_high)}"


def _by_relation(rows: list[dict[str, Any]], finding: str) -> str:
    """ "toy 6 of 6, play 3 of 6": the relations where `finding` happened, most first."""
    totals = Counter(r["relation"] or "other" for r in rows)
    hits = Counter(r["relation"] or "other" for r in rows if r["finding"] == finding)
    return ", ".join(f"{rel} {hits[rel]} of {totals[rel]}" for rel in sorted(hits, key=lambda r: (-hits[r], r)))


def _leak_sentences(rows: list[dict[str, Any]], metrics: Mapping[str, Estimate]) -> list[str]:
    leaks = [r for r in rows if r["kind"] == "leak"]
    if not leaks:
        return ["No leak probes in the test split: nothing here says whether the old behaviour comes back."]
    leaked = [r for r in leaks if r["finding"] == "leak"]
    rate = metrics["leak_rate"]
    if not leaked:
        return [
            f"No leak probe gives the old answer after the edit (0 of {len(leaks)}; "
            f"the leak rate could still be up to {_percent(rate.ci_high)})."
        ]
    sentences = [
        f"{len(leaked)} of {len(leaks)} leak probes still give the old answer after the edit "
        f"({_by_relation(leaks, 'leak')}); leak rate {_percent(rate.value)} ({_rate_interval(rate)})."
    ]
    for relation in sorted({r["relation"] for r in leaked}):
        example = next(r for r in leaked if r["relation"] == relation)
        sentences.append(
            f'{relation or "Other"}: "{example["prompt"]}" still prefers "{example["foil"]}" '
            f'over "{example["target"]}" (margin {example["margin_before"]:+.2f} → {example["margin_after"]:+.2f}).'
        )
    return sentences


def _took_sentences(rows: list[dict[str, Any]], metrics: Mapping[str, Estimate]) -> list[str]:
    sentences = []
    for kind, noun in (("edit", "edit probes"), ("paraphrase", "paraphrases it never trained on")):
        kind_rows = [r for r in rows if r["kind"] == kind]
        if not kind_rows:
            continue
        took = sum(r["finding"] == "took" for r in kind_rows)
        sentence = f"The edit took on {took} of {len(kind_rows)} {noun} ({_rate_interval(metrics[kind])})."
        missed = [r for r in kind_rows if r["finding"] == "missed"]
        if missed:
            sentence += f' Missed, e.g. "{missed[0]["prompt"]}" still prefers "{missed[0]["foil"]}".'
        sentences.append(sentence)
    return sentences


def _moved_sentences(
    rows: list[dict[str, Any]], metrics: Mapping[str, Mapping[str, Estimate]], margins: Mapping[str, Any]
) -> list[str]:
    sentences = []
    controls = [r for r in rows if r["kind"] == "control"]
    damaged = [r for r in controls if r["finding"] == "damaged"]
    unchanged = metrics["after"]["control_unchanged"]
    if not controls:
        sentences.append("No control probes in the test split: nothing here says what else changed.")
    elif not damaged:
        sentences.append(
            f"No control probe changed (0 of {len(controls)}); "
            f"the share left unchanged is at least {_percent(unchanged.ci_low)} (95% CI)."
        )
    else:
        sentences.append(
            f"{len(damaged)} of {len(controls)} control probes changed ({_by_relation(controls, 'damaged')})."
        )
        for row in damaged[:3]:
            if row["continuation_after"] != row["continuation_before"]:
                sentences.append(
                    f'"{row["prompt"]}" now continues "{row["continuation_after"].strip()}" '
                    f'(was "{row["continuation_before"].strip()}").'
                )
            else:
                sentences.append(
                    f'"{row["prompt"]}" now prefers "{row["foil"]}" over "{row["target"]}" '
                    f"(margin {row['margin_before']:+.2f} → {row['margin_after']:+.2f})."
                )
    control_margin = margins.get("control")
    if control_margin and control_margin["p_value"] is not None and control_margin["p_value"] < 0.05:
        direction = "fell" if control_margin["value"] < 0 else "rose"
        sentences.append(
            f"Control margins {direction} by {abs(control_margin['value']):.2f} nats on average "
            f"({_interval(control_margin)}, p = {control_margin['p_value']:.3g})."
        )
    kl = metrics["after"]["kl"]
    if kl.value is not None:
        sentences.append(f"Mean KL(base ‖ edited) over {kl.n} neutral texts: {kl.value:.4f} ({_interval(kl, '.4f')}).")
    ppl = metrics["after"]["ppl_ratio"]
    if ppl.value is not None:
        sentences.append(f"Perplexity on the fluency text is {ppl.value:.3f}× what it was ({_interval(ppl, '.3f')}).")
    entropy_b, entropy_a = metrics["before"]["ngram_entropy"], metrics["after"]["ngram_entropy"]
    if entropy_a.value is not None and entropy_b.value is not None:
        sentences.append(
            f"Bigram entropy of the generations went from {entropy_b.value:.2f} to {entropy_a.value:.2f} bits."
        )
    return sentences


def _summarize(rows: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any], split: str) -> dict[str, list[str]]:
    """Plain-words sentences: what leaked, what took, what else moved (on the gated split)."""
    split_rows = [dict(r) for r in rows if r["split"] == split]
    return {
        "leaked": _leak_sentences(split_rows, metrics["after"]),
        "took": _took_sentences(split_rows, metrics["after"]),
        "moved": _moved_sentences(split_rows, metrics, metrics["margin_change"]),
    }


# --- everything the report needs --------------------------------------------------------------


def measure_impact(
    before: Sequence[ProbeScore],
    after: Sequence[ProbeScore],
    *,
    kl: Sequence[float] | None = None,
    nll_before: Sequence[float] | Sequence[Sequence[float]] | None = None,
    nll_after: Sequence[float] | Sequence[Sequence[float]] | None = None,
    generations: Sequence[Mapping[str, str]] = (),
    gates: Mapping[str, str] | None = None,
    strict: bool = False,
    split: str = "test",
    seed: int = 0,
) -> dict[str, Any]:
    """The report's `metrics`, `verdict`, `probes` and `summary` sections from one run's data.

    `before`/`after`: every probe scored in each phase. `kl`: per-retain-text
    KL(base || edited). `nll_before`/`nll_after`: per-token NLLs of the fluency
    text (flat, or one list per sentence). `generations`: `{prompt, before, after}`
    greedy generations. `gates`: metric name -> threshold such as ">= 0.8".
    Metrics and gates use the `split` probes only; other splits get context rates.
    """
    gates = dict(gates or {})
    for name, spec in gates.items():
        parse_gate(name, spec)  # fail on a bad spec before any work
    pairs = pair_scores(before, after)
    before_rates = rate_metrics(before, split=split)
    after_rates = rate_metrics(after, before=before, split=split)

    kl_after = bootstrap_mean(kl, seed=seed) if kl is not None else _no_data()
    kl_before = Estimate(0.0, 0.0, 0.0, kl_after.n) if kl_after.n else _no_data()
    if nll_before is not None and nll_after is not None:
        ppl_after, ppl_p = perplexity_ratio(nll_before, nll_after, seed=seed)
    else:
        ppl_after, ppl_p = _no_data(), None
    ppl_before = Estimate(1.0, 1.0, 1.0, ppl_after.n) if ppl_after.n else _no_data()
    entropy_before, entropy_after, entropy_p = paired_entropy(
        [g["before"] for g in generations], [g["after"] for g in generations]
    )
    phase_before = {**before_rates, "kl": kl_before, "ppl_ratio": ppl_before, "ngram_entropy": entropy_before}
    phase_after = {**after_rates, "kl": kl_after, "ppl_ratio": ppl_after, "ngram_entropy": entropy_after}

    outcomes_before = _outcomes([b for b, _ in pairs], None, split)
    outcomes_after = _outcomes([a for _, a in pairs], before, split)
    tests: dict[str, Any] = {name: _mcnemar_entry(outcomes_before[name], outcomes_after[name]) for name in RATE_METRICS}
    tests["kl"] = {"test": None, "p_value": None, "n": kl_after.n}  # zero before by definition: nothing to pair
    tests["ppl_ratio"] = {"test": "paired_bootstrap", "p_value": ppl_p, "n": ppl_after.n}
    tests["ngram_entropy"] = {"test": "jackknife", "p_value": entropy_p, "n": entropy_after.n}

    other_splits = {}
    for other in sorted({b.probe.split for b, _ in pairs} - {split}):
        other_splits[other] = {
            "before": {k: v.to_dict() for k, v in rate_metrics(before, split=other).items()},
            "after": {k: v.to_dict() for k, v in rate_metrics(after, before=before, split=other).items()},
        }

    margins = margin_changes(before, after, split=split, seed=seed)
    rows = probe_rows(before, after)
    estimates = {"before": phase_before, "after": phase_after, "margin_change": margins}
    return {
        "metrics": {
            "split": split,
            "before": {k: v.to_dict() for k, v in phase_before.items()},
            "after": {k: v.to_dict() for k, v in phase_after.items()},
            "tests": tests,
            "margin_change": margins,
            "other_splits": other_splits,
        },
        "verdict": evaluate_gates(gates, phase_after, strict=strict),
        "probes": rows,
        "summary": _summarize(rows, estimates, split=split),
    }
