"""The report's measured sections from one run's scores: metrics and tests, the verdict, probe rows, the
summary's words, and the earlier edits re-checked. The numbers come from `editing.impact`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from editing.impact.findings import probe_rows
from editing.impact.fluency import paired_entropy, perplexity_ratio
from editing.impact.gates import evaluate_gates, parse_gate
from editing.impact.metrics import margin_changes, mcnemar_entry, pair_scores, probe_outcomes, rate_metrics
from editing.impact.regressions import EarlierEdit, after_estimates, earlier_edit_rows
from editing.impact.statistics import Estimate, bootstrap_mean, no_data
from editing.report.summary import summarize
from editing.vocab import RATE_METRICS

if TYPE_CHECKING:  # probes' scoring imports torch; this module only reads the dataclasses' fields
    from editing.probes.scoring import ProbeScore


def _by_definition(value: float, after: Estimate) -> Estimate:
    """A before-phase value fixed by definition (KL 0, perplexity ratio 1) over the after phase's n; with a
    zero-width interval only where the after phase has an interval, so the table never shows one side alone."""
    if not after.n:
        return no_data()
    if after.ci_low is None:
        return Estimate(value, None, None, after.n)
    return Estimate(value, value, value, after.n)


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
    contaminated: bool = False,
    contamination: Sequence[Mapping[str, Any]] = (),
    split: str = "test",
    seed: int = 0,
    earlier_edits: Sequence[EarlierEdit] = (),
    before_words: str = "before this edit",
) -> dict[str, Any]:
    """The report's `metrics`, `verdict`, `probes`, `summary` and `earlier_edits` sections from one run's data.

    `before`/`after`: every probe scored in each phase. `kl`: per-retain-text
    KL(base || edited). `nll_before`/`nll_after`: per-token NLLs of the fluency
    text (flat, or one list per sentence). `generations`: `{prompt, before, after}`
    greedy generations. `gates`: metric name -> threshold such as ">= 0.8".
    `contamination`: `find_contamination`'s rows; any (or `contaminated`) makes the
    verdict uncertain (`evaluate_gates`), and the summary never calls those probes held out.
    Metrics and gates use the `split` probes only; other splits get context rates.
    `earlier_edits`: the edits in the ancestry whose regression probes this run scored;
    each gets its own before/after (`earlier_edit_rows`) and its own `regressions` gate row.
    `before_words`: what the summary calls the before phase of a regression probe.
    """
    gates = dict(gates or {})
    parsed = [parse_gate(name, spec) for name, spec in gates.items()]  # fail on a bad spec before any work
    pairs = pair_scores(before, after)
    before_rates = rate_metrics(before, split=split)
    after_rates = rate_metrics(after, before=before, split=split)

    kl_after = bootstrap_mean(kl, seed=seed) if kl is not None else no_data()
    kl_before = _by_definition(0.0, kl_after)
    if nll_before is not None and nll_after is not None:
        ppl_after, ppl_p = perplexity_ratio(nll_before, nll_after, seed=seed)
    else:
        ppl_after, ppl_p = no_data(), None
    ppl_before = _by_definition(1.0, ppl_after)
    entropy_before, entropy_after, entropy_p = paired_entropy(
        [g["before"] for g in generations], [g["after"] for g in generations]
    )
    phase_before = {**before_rates, "kl": kl_before, "ppl_ratio": ppl_before, "ngram_entropy": entropy_before}
    phase_after = {**after_rates, "kl": kl_after, "ppl_ratio": ppl_after, "ngram_entropy": entropy_after}

    outcomes_before = probe_outcomes([b for b, _ in pairs], None, split)
    outcomes_after = probe_outcomes([a for _, a in pairs], before, split)
    tests: dict[str, Any] = {name: mcnemar_entry(outcomes_before[name], outcomes_after[name]) for name in RATE_METRICS}
    tests["kl"] = {"test": None, "p_value": None, "n": kl_after.n}  # zero before by definition: nothing to pair
    tests["ppl_ratio"] = {"test": "paired_bootstrap" if ppl_p is not None else None, "p_value": ppl_p, "n": ppl_after.n}
    tests["ngram_entropy"] = {
        "test": "jackknife" if entropy_p is not None else None,
        "p_value": entropy_p,
        "n": entropy_after.n,
    }

    other_splits = {}
    for other in sorted({b.probe.split for b, _ in pairs} - {split}):
        other_splits[other] = {
            "before": {k: v.to_dict() for k, v in rate_metrics(before, split=other).items()},
            "after": {k: v.to_dict() for k, v in rate_metrics(after, before=before, split=other).items()},
        }

    margins = margin_changes(before, after, split=split, seed=seed)
    rows = probe_rows(before, after)
    estimates = {"before": phase_before, "after": phase_after, "margin_change": margins}
    edits = earlier_edit_rows(before, after, earlier_edits, seed=seed)
    verdict = evaluate_gates(
        gates,
        phase_after,
        strict=strict,
        contaminated=contaminated or bool(contamination),
        by_edit=after_estimates(edits),
        split=split,
    )
    return {
        "metrics": {
            "split": split,
            "before": {k: v.to_dict() for k, v in phase_before.items()},
            "after": {k: v.to_dict() for k, v in phase_after.items()},
            "tests": tests,
            "margin_change": margins,
            "other_splits": other_splits,
        },
        "verdict": verdict,
        "probes": rows,
        "summary": summarize(
            rows,
            estimates,
            split=split,
            contamination=contamination,
            before_words=before_words,
            edit_labels={pid: edit.label for edit in earlier_edits for pid in edit.probe_ids},
            contaminated_unnamed=contaminated and not contamination,
            thresholds={gate.name: gate.threshold for gate in parsed},
        ),
        "earlier_edits": edits,
    }
