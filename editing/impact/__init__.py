"""What an edit did, in numbers with honest uncertainty: metrics, paired tests, gates, contamination.

Model-free on purpose: everything here takes plain data (scored probes, lists of
floats, strings) so it can be checked by hand and reused outside nudge. The
report turns these numbers into its sections and words (`editing.report.measure`);
`docs/metrics.md` says what every number means.

    statistics     Estimate, Wilson and bootstrap intervals, paired bootstrap, exact McNemar
    fluency        perplexity ratio, n-gram entropy (pooled, jackknifed when paired)
    metrics        the rate metrics and margin changes of scored probes
    gates          Gate, parse_gate, evaluate_gates (the verdict)
    contamination  test probes that copy training prompts
    findings       one row per probe with what happened to it
    regressions    earlier edits re-checked, per edit
"""

from __future__ import annotations

from editing.impact.contamination import content_words, find_contamination, normalise_prompt
from editing.impact.findings import probe_rows
from editing.impact.fluency import ngram_entropy, paired_entropy, perplexity_ratio
from editing.impact.gates import Gate, evaluate_gates, parse_gate
from editing.impact.metrics import margin_changes, pair_scores, rate_metrics
from editing.impact.statistics import Estimate, bootstrap_mean, mcnemar_exact, paired_bootstrap, wilson_interval

__all__ = [
    "Estimate",
    "Gate",
    "bootstrap_mean",
    "content_words",
    "evaluate_gates",
    "find_contamination",
    "margin_changes",
    "mcnemar_exact",
    "ngram_entropy",
    "normalise_prompt",
    "pair_scores",
    "paired_bootstrap",
    "paired_entropy",
    "parse_gate",
    "perplexity_ratio",
    "probe_rows",
    "rate_metrics",
    "wilson_interval",
]
