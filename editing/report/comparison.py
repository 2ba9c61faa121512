"""Two runs compared, built once as data from their `report.json` dicts: verdicts, gates and metrics with
deltas (B − A), and the probes whose finding differs.

Each run's verdict, contamination and summary are built as one report builds them
(`sections.py`); a difference is toned good or bad only when the two 95% intervals
do not overlap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from editing.report import formatting, text
from editing.report.sections import build_contamination, build_summary, build_verdict, finding_badge, gate_badge
from editing.report.views import PALETTE, Cell, ComparedRun, Comparison, IntervalChart, IntervalSeries, Table
from editing.vocab import METRICS, RATE_METRICS


def comparison_labels(left: Mapping[str, Any], right: Mapping[str, Any]) -> tuple[str, str]:
    """ "A: run 3", "B: run 4"; just "A" and "B" when the two runs have the same title."""
    left_title, right_title = text.run_title(left, "run A"), text.run_title(right, "run B")
    return (f"A: {left_title}", f"B: {right_title}") if left_title != right_title else ("A", "B")


def _separated(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    """Whether the two estimates' 95% intervals do not overlap: only then is one run called better."""
    ends = [e.get(key) for e in (left, right) for key in ("ci_low", "ci_high")]
    if any(end is None for end in ends):
        return False
    left_low, left_high, right_low, right_high = (float(end) for end in ends if end is not None)
    return right_low > left_high or left_low > right_high


def delta_cell(left: Mapping[str, Any] | None, right: Mapping[str, Any] | None, metric: str) -> Cell:
    """right − left, toned good when the right run is better on this metric and bad when worse, and only
    when the two 95% intervals do not overlap (a difference inside them is not shown as news)."""
    change = formatting.difference(left, right)
    if change is None:
        return Cell(formatting.MISSING, numeric=True)
    shown = formatting.change_text(left, right, metric)
    if metric not in METRICS or float(shown) == 0 or not _separated(left or {}, right or {}):
        return Cell(shown, numeric=True)
    better = (float(shown) > 0) == METRICS[metric].higher_is_better
    return Cell(shown, numeric=True, tone="good" if better else "bad")


def _gate_cells(gate: Mapping[str, Any] | None, absent: str = "not gated") -> list[Cell]:
    """A gate's estimate and threshold, then its status badge; `absent` where the run has no such row."""
    if gate is None:
        return [Cell(absent, numeric=True), Cell()]
    value, interval = formatting.gate_texts(gate)
    estimate = f"{value} {interval} {gate['threshold']}"
    return [Cell(estimate, numeric=True), Cell(badge=gate_badge(gate["status"]))]


def _gate_key(gate: Mapping[str, Any]) -> tuple[str, str]:
    """A gate row's identity: its metric, and the earlier edit it judges (regression gates have one row per edit)."""
    return (gate["name"], str(gate.get("edit") or ""))


def _compared_gates(left: Mapping[str, Any], right: Mapping[str, Any]) -> list[list[Cell]]:
    """One row per gate row either run has, in the left run's order, then the right run's new ones."""
    left_gates = {_gate_key(gate): gate for gate in left["verdict"].get("gates", [])}
    right_gates = {_gate_key(gate): gate for gate in right["verdict"].get("gates", [])}
    keys = list(left_gates) + [key for key in right_gates if key not in left_gates]
    chains = [{e.get("label") for e in report.get("earlier_edits") or []} for report in (left, right)]

    def absent(edit: str, chain: set[Any]) -> str:
        return "edit not in this run's chain" if edit and edit not in chain else "not gated"

    return [
        [
            Cell(text.metric_label(name) + (f": {edit}" if edit else ""), hint=text.metric_help(name)),
            *_gate_cells(left_gates.get((name, edit)), absent(edit, chains[0])),
            *_gate_cells(right_gates.get((name, edit)), absent(edit, chains[1])),
            delta_cell(left_gates.get((name, edit)), right_gates.get((name, edit)), name),
        ]
        for name, edit in keys
    ]


def _changed_findings(left: Mapping[str, Any], right: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """(left probe, right probe) for every probe both runs share whose finding differs."""
    right_probes = {probe["id"]: probe for probe in right.get("probes") or []}
    return [
        (probe, right_probes[probe["id"]])
        for probe in left.get("probes") or []
        if probe["id"] in right_probes and probe["finding"] != right_probes[probe["id"]]["finding"]
    ]


def build_comparison(left: Mapping[str, Any], right: Mapping[str, Any]) -> Comparison:
    """Two runs side by side, from their `report.json` dicts; deltas are right − left (B − A)."""
    labels = comparison_labels(left, right)
    runs = tuple(
        ComparedRun(
            label,
            build_verdict(report),
            build_contamination(report.get("contamination") or []),
            build_summary(report, with_took=False),
        )
        for label, report in zip(labels, (left, right), strict=True)
    )
    gate_rows = _compared_gates(left, right)
    gates = Table(["Gate", labels[0], "", labels[1], "", "Δ (B − A)"], gate_rows) if gate_rows else None
    left_after, right_after = left["metrics"]["after"], right["metrics"]["after"]
    metric_rows = [
        [
            Cell(text.metric_label(name), hint=text.metric_help(name)),
            Cell(formatting.estimate_text(left_after.get(name), name), numeric=True),
            Cell(formatting.estimate_text(right_after.get(name), name), numeric=True),
            delta_cell(left_after.get(name), right_after.get(name), name),
        ]
        for name in METRICS
        if name in left_after or name in right_after
    ]
    rate_names = [
        name for name in RATE_METRICS if left_after.get(name, {}).get("n") or right_after.get(name, {}).get("n")
    ]
    rates_chart = None
    if rate_names:
        rates_chart = IntervalChart(
            "Rates after each edit, with 95% intervals",
            [text.metric_label(name) for name in rate_names],
            [
                IntervalSeries(labels[0], PALETTE[1], [left_after.get(name) for name in rate_names]),
                IntervalSeries(labels[1], PALETTE[0], [right_after.get(name) for name in rate_names]),
            ],
            "share of probes",
            (0.0, 1.0),
        )
    changed = _changed_findings(left, right)
    shared = {p["id"] for p in left.get("probes") or []} & {p["id"] for p in right.get("probes") or []}
    changes = None
    if changed:
        rows = [
            [
                Cell(left_probe["id"], identifier=True),
                Cell(left_probe["kind"]),
                Cell(left_probe["split"]),
                Cell(left_probe["prompt"]),
                Cell(formatting.margin_text(left_probe["margin_after"]), badge=finding_badge(left_probe["finding"])),
                Cell(formatting.margin_text(right_probe["margin_after"]), badge=finding_badge(right_probe["finding"])),
            ]
            for left_probe, right_probe in changed
        ]
        headers = ["Id", "Kind", "Split", "Prompt", f"{labels[0]} (margin after)", f"{labels[1]} (margin after)"]
        changes = Table(headers, rows, sortable=True)
    return Comparison(
        labels,
        (runs[0], runs[1]),
        gates,
        _compared_metrics_title(left, right),
        Table(["Metric", labels[0], labels[1], "Δ (B − A)"], metric_rows),
        rates_chart,
        f"Probes whose finding differs ({len(changed)} of {len(shared)} shared, all splits)",
        changes,
        "Every probe the two runs share has the same finding." if shared else "The two runs share no probes.",
    )


def _compared_metrics_title(left: Mapping[str, Any], right: Mapping[str, Any]) -> str:
    """ "Metrics after the edit (test split)", naming both splits when the runs were measured on different ones."""
    splits = [str(report["metrics"].get("split") or "test") for report in (left, right)]
    if splits[0] == splits[1]:
        return f"Metrics after the edit ({splits[0]} split)"
    return f"Metrics after the edit (A on the {splits[0]} split, B on the {splits[1]} split: not comparable)"
