"""The report's plain-words summary: what leaked, what took, what else moved, with the uncertainty."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from editing.impact.statistics import Estimate


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


def summarize(rows: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any], split: str) -> dict[str, list[str]]:
    """Plain-words sentences: what leaked, what took, what else moved (on the gated split)."""
    split_rows = [dict(r) for r in rows if r["split"] == split]
    return {
        "leaked": _leak_sentences(split_rows, metrics["after"]),
        "took": _took_sentences(split_rows, metrics["after"]),
        "moved": _moved_sentences(split_rows, metrics, metrics["margin_change"]),
    }
