"""Gates: thresholds on test-split metrics, judged on whole intervals, and the verdict they add up to."""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from editing.impact.statistics import Estimate, no_data
from editing.vocab import GATE_ALIASES, GATEABLE_METRICS, METRICS, NO_GATES

_GATE_PATTERN = re.compile(r"^\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_COMPARISONS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_GATE_FORM = 'a comparison and a number, one of ">= 0.95", "> 0.5", "<= 0.2", "< 1.1"'


@dataclass(frozen=True)
class Gate:
    """A threshold on one test-split metric, e.g. Gate("paraphrase", ">=", 0.8)."""

    name: str  # a gateable metric of editing.vocab
    op: str  # ">=", ">", "<=" or "<"
    threshold: float

    def status(self, estimate: Estimate) -> str:
        """`pass` when the whole interval passes, `fail` when none of it does, else `uncertain`."""
        if estimate.ci_low is None or estimate.ci_high is None:
            return "uncertain"  # no interval (no test probes, or too few texts to resample): nothing shows it holds
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
    if canonical not in GATEABLE_METRICS:
        raise ValueError(f"unknown gate {name!r}; gates can be set on: {', '.join(GATEABLE_METRICS)}")
    match = _GATE_PATTERN.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise ValueError(f"gate {name!r} has threshold {spec!r}; write {_GATE_FORM}")
    return Gate(canonical, match.group(1), float(match.group(2)))


def _row(gate: Gate, estimate: Estimate) -> dict[str, Any]:
    return {
        "name": gate.name,
        "value": estimate.value,
        "ci_low": estimate.ci_low,
        "ci_high": estimate.ci_high,
        "n": estimate.n,
        "threshold": f"{gate.op} {gate.threshold:g}",
        "status": gate.status(estimate),
    }


def evaluate_gates(
    gates: Mapping[str, str],
    metrics: Mapping[str, Estimate],
    strict: bool = False,
    contaminated: bool = False,
    by_edit: Mapping[str, Mapping[str, Estimate]] | None = None,
    split: str = "test",
) -> dict[str, Any]:
    """The verdict: each gate judged on its metric's interval, and whether the edit passes.

    A gate on a regression metric (`regressions`, on `regression_says`) is judged once
    per earlier edit, on that edit's own interval from `by_edit` (label -> metric ->
    estimate), one row each with the edit's label: a pooled rate would let one undone
    edit hide among kept ones. Without earlier edits such a gate has no rows.

    One rule for every kind of uncertainty: the verdict is `fail` when a gate fails,
    else `uncertain` when a gate is uncertain or the test split is `contaminated`
    (some test probe copies a training prompt, see `find_contamination`: its
    intervals may measure what the edit memorised, so a clean pass cannot be
    vouched for), else `pass` when a gate row was judged, else `none` (NO_GATES:
    nothing was checked against a threshold). An uncertain verdict passes, as a
    warning, unless `strict`; so does `none`, which no gate failed; `passed` is what
    `nudge apply`'s exit code reports.
    """
    rows = []
    for name, spec in gates.items():
        gate = parse_gate(name, spec)
        if METRICS[gate.name].probe_kind == "regression":
            if gate.op == ">=" and gate.threshold <= 0:
                continue  # ">= 0" turns the per-edit gate off: a rate always meets it
            for label, estimates in (by_edit or {}).items():
                rows.append({**_row(gate, estimates.get(gate.name, no_data())), "edit": label})
        else:
            rows.append(_row(gate, metrics.get(gate.name, no_data())))
    statuses = {row["status"] for row in rows}
    if contaminated:
        statuses.add("uncertain")
    status = "fail" if "fail" in statuses else "uncertain" if "uncertain" in statuses else "pass" if rows else NO_GATES
    passed = status in ("pass", NO_GATES) or (status == "uncertain" and not strict)
    return {
        "passed": passed,
        "status": status,
        "strict": strict,
        "split": split,  # the split `metrics` were computed on
        "contaminated": contaminated,
        "gates": rows,
    }
