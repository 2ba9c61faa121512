"""One report's sections, built once as data from `report.json`'s dict, for every renderer to show.

`build_report` turns the JSON into the views of `views.py`: plain, unescaped text
(titles, table cells, notes, badges) and the numbers the charts draw. Figures are
written by `formatting.py`, labels and fixed sentences by `text.py`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from editing.report import formatting, text
from editing.report.views import (
    AFTER_COLOUR,
    BEFORE_COLOUR,
    Badge,
    Cell,
    ContaminatedProbe,
    ContaminationWarning,
    Generations,
    IntervalChart,
    IntervalSeries,
    LineChart,
    LineSeries,
    Metrics,
    ProbeGroup,
    Probes,
    Report,
    RunEntry,
    RunRecord,
    Spectral,
    Subsection,
    SummaryList,
    Table,
    Verdict,
)
from editing.vocab import BAD_FINDINGS, FINDINGS, KIND_ORDER, METRICS, RATE_METRICS, VERDICT_STATUSES

LOCATION_STATEMENT = (
    "These sweeps show what the measured rates depend on: the edit cut to its largest directions, and the edit "
    "with its part in one layer switched off while the rest stays. Each point is one rate on the test probes, "
    "without an interval (one probe moves it by 1/n). They are evidence about where the effect lives (in which "
    "directions of the weight change, in which layers), not an explanation of how it works."
)
CONTAMINATION_HEADLINE = "Contamination: these gates are not trustworthy."
CONTAMINATION_LISTED = 20  # probes named in the warning; the rest are in report.json


def gate_badge(status: str) -> Badge:
    """A gate's status as a word in capitals (PASS); any status but a pass is news."""
    return Badge(status, VERDICT_STATUSES[status].word, alarming=status != "pass")


def finding_badge(finding: str) -> Badge:
    """The finding's word; its colour class is the word with spaces as hyphens (`third-answer`)."""
    return Badge(finding.replace(" ", "-"), finding, alarming=finding in BAD_FINDINGS)


def build_verdict(report: Mapping[str, Any]) -> Verdict:
    verdict = report["verdict"]
    gates = verdict.get("gates", [])
    table = None
    if gates:
        rows = [
            [
                Cell(
                    text.metric_label(gate["name"]) + (f": {gate['edit']}" if gate.get("edit") else ""),
                    hint=text.metric_help(gate["name"]),
                    code_name=gate["name"],
                ),
                *(Cell(part, numeric=True) for part in formatting.gate_texts(gate)),
                Cell(gate["threshold"], numeric=True),
                Cell(badge=gate_badge(gate["status"])),
            ]
            for gate in gates
        ]
        table = Table(["Gate", "Value", "95% interval", "Threshold", "Status"], rows)
    note = (
        "A gate passes only when its whole 95% interval is on the passing side; when the interval straddles "
        "the threshold it is uncertain (more test probes would settle it)."
        if gates
        else ""
    )
    line = text.verdict_line(verdict, report.get("run"))
    return Verdict(verdict["status"], text.verdict_word(verdict), line, table, note)


def build_contamination(rows: Sequence[Mapping[str, Any]]) -> ContaminationWarning | None:
    if not rows:
        return None
    probes = [
        ContaminatedProbe(
            str(row["probe_id"]),
            str(row["prompt"]),
            str(row["training_prompt"]),
            row["similarity"],
            str(row.get("match") or ""),
        )
        for row in rows[:CONTAMINATION_LISTED]
    ]
    unlisted = max(0, len(rows) - CONTAMINATION_LISTED)
    return ContaminationWarning(CONTAMINATION_HEADLINE, text.contamination_line(rows), probes, unlisted)


def build_summary(report: Mapping[str, Any], with_took: bool = True) -> list[SummaryList]:
    """What the model now says (first, when the run read greedy continuations), what leaked and what
    else moved, always; what took, when asked for and the summary has it."""
    summary = report.get("summary") or {}
    lists = [SummaryList("says", "What the model now says", list(summary["says"]))] if summary.get("says") else []
    lists += [
        SummaryList("leaked", "What leaked", list(summary.get("leaked", []))),
        SummaryList("moved", "What else moved", list(summary.get("moved", []))),
    ]
    if with_took and summary.get("took"):
        lists.append(SummaryList("took", "What took", list(summary["took"])))
    return lists


def build_metrics(report: Mapping[str, Any]) -> Metrics:
    metrics = report["metrics"]
    before, after, tests = metrics["before"], metrics["after"], metrics.get("tests", {})
    gated = {g["name"]: g for g in report["verdict"].get("gates", []) if not g.get("edit")}
    rows = [
        [
            Cell(text.metric_label(name), hint=text.metric_help(name)),
            Cell(formatting.gated_estimate_text(before.get(name), name, gated.get(name)), numeric=True),
            Cell(formatting.gated_estimate_text(after.get(name), name, gated.get(name)), numeric=True),
            Cell(formatting.change_text(before.get(name, {}), after[name], name), numeric=True),
            Cell(formatting.p_value_text(tests.get(name, {}).get("p_value")), numeric=True),
            Cell(text.test_text(tests.get(name))),
            Cell(str(after[name].get("n", 0)), numeric=True),
        ]
        for name in METRICS
        if name in after
    ]
    ledger = text.is_ledger(report.get("run"))
    before_head, after_head = ("When made", "Now") if ledger else ("Before", "After")
    table = Table(["Metric", f"{before_head} [95% CI]", f"{after_head} [95% CI]", "Change", "p", "Test", "n"], rows)
    rate_names = [name for name in RATE_METRICS if after.get(name, {}).get("n") or before.get(name, {}).get("n")]
    rates_chart = None
    if rate_names:
        rates_chart = IntervalChart(
            "Rates when each edit was made and now, with 95% intervals"
            if ledger
            else "Rates before and after the edit, with 95% intervals",
            [text.metric_label(name) for name in rate_names],
            [
                IntervalSeries("before", BEFORE_COLOUR, [before.get(name) for name in rate_names]),
                IntervalSeries("after", AFTER_COLOUR, [after.get(name) for name in rate_names]),
            ],
            "share of probes",
            (0.0, 1.0),
        )
    subsections = []
    margins = metrics.get("margin_change") or {}
    if margins:
        kinds = [kind for kind in KIND_ORDER if kind in margins]
        rows = [
            [
                Cell(kind),
                Cell(formatting.estimate_text(margins[kind], fmt="+.3f"), numeric=True),
                Cell(formatting.margin_p_text(margins[kind]), numeric=True),
                Cell(formatting.p_value_text(margins[kind].get("p_min")), numeric=True),
                Cell(text.test_text(margins[kind])),
                Cell(str(margins[kind].get("n", 0)), numeric=True),
            ]
            for kind in kinds
        ]
        subsections.append(
            Subsection(
                "Margin change: how far the log-prob margin (target − foil) moved, per kind",
                Table(["Kind", "Mean change [95% CI] (nats)", "p", "Smallest possible p", "Test", "n"], rows),
                IntervalChart(
                    "Mean margin change per kind (after − before)"
                    + (", 95% intervals" if any(margins[k].get("ci_low") is not None for k in kinds) else ""),
                    kinds,
                    [IntervalSeries("after − before", AFTER_COLOUR, [margins[kind] for kind in kinds])],
                    "nats",
                ),
                chart_first=False,
            )
        )
    rows = [
        [
            Cell(split),
            Cell(text.metric_label(name)),
            Cell(formatting.estimate_text(phases["before"].get(name, {}))),
            Cell(formatting.estimate_text(phases["after"].get(name, {}))),
            Cell(str(phases["after"][name]["n"])),
        ]
        for split, phases in (metrics.get("other_splits") or {}).items()
        for name in RATE_METRICS
        if phases["after"].get(name, {}).get("n")
    ]
    if rows:
        subsections.append(
            Subsection(
                "Other splits (context only, never gated)",
                Table(["Split", "Metric", "Before", "After", "n"], rows),
                folded=True,
            )
        )
    return Metrics(
        f"Metrics, before and after ({metrics.get('split', 'test')} split)",
        table,
        "Rates carry Wilson intervals, means bootstrap intervals (seeded; none below 6 texts or pairs), the bigram "
        "entropy a jackknife interval. p tests the change per probe, paired: McNemar's exact test on success "
        "flips, a paired bootstrap for means, a paired jackknife for the entropy, a sign-flip test for margin "
        "changes (none below 6 moved probes: too few to test). Interval ends are rounded outward. `says` rates "
        "read the greedy continuation: does it begin "
        "with the target, the foil or a third answer? Hover a metric for what it measures.",
        rates_chart,
        subsections,
    )


def _probe_row(probe: Mapping[str, Any]) -> list[Cell]:
    change = probe["margin_after"] - probe["margin_before"]
    before, after = formatting.visible_pair(probe["continuation_before"], probe["continuation_after"])
    return [
        Cell(badge=finding_badge(probe["finding"]), sort_key=str(int(probe["finding"] not in BAD_FINDINGS))),
        Cell(probe["id"], identifier=True),
        Cell(probe["split"]),
        Cell(probe.get("relation", "")),
        Cell(probe["prompt"]),
        Cell(probe["target"]),
        Cell(probe["foil"]),
        Cell(
            formatting.margin_text(probe["margin_before"]),
            numeric=True,
            after=formatting.margin_text(probe["margin_after"]),
            sort_key=f"{change:.6f}",
        ),
        Cell("yes" if probe["flipped"] else "", sort_key=str(int(probe["flipped"]))),
        Cell(before) if before == after else Cell(before, after=after, stress_after=True),
    ]


def _flagged(probes: Sequence[Mapping[str, Any]]) -> str:
    """ "1 leak, 1 third answer": how many probes got each finding the report lists first; "none flagged"."""
    counts = Counter(probe["finding"] for probe in probes if probe["finding"] in BAD_FINDINGS)
    return ", ".join(f"{counts[f]} {f}" for f in FINDINGS if counts[f]) or "none flagged"


def build_probes(report: Mapping[str, Any]) -> Probes:
    """One sortable table per kind, worst news first; kinds the vocabulary does not order come last."""
    probes = report.get("probes") or []
    headers = ["Finding", "Id", "Split", "Relation", "Prompt", "Target", "Foil", "Margin", "Flipped", "Continuation"]
    groups = []
    for kind in [*KIND_ORDER, *sorted({probe["kind"] for probe in probes} - set(KIND_ORDER))]:
        of_kind = [probe for probe in probes if probe["kind"] == kind]
        if not of_kind:
            continue
        title = text.kind_title(kind)
        count = "1 probe" if len(of_kind) == 1 else f"{len(of_kind)} probes"
        groups.append(
            ProbeGroup(
                kind,
                f"{title} ({count}, all splits: {_flagged(of_kind)})",
                Table(headers, [_probe_row(probe) for probe in of_kind], sortable=True),
            )
        )
    return Probes(
        "Probes",
        "Grouped by kind, every split; leaks, damaged controls, misses and the other findings in red first. "
        "Margin = mean log-prob of the target minus "
        "that of the foil (nats per token); above 0 the target wins. Flipped = the margin's winner changed (a "
        "greedy answer that changed shows in the Continuation column). Click a column header to sort.",
        groups,
    )


def build_generations(report: Mapping[str, Any]) -> Generations:
    generations = report.get("generations") or []
    if not generations:
        return Generations("Generations", "No generations were recorded.", None)
    rows = [
        [Cell(g["prompt"]), *(Cell(t, highlight=i == 1 and g["before"] != g["after"]) for i, t in enumerate(shown))]
        for g in generations
        for shown in [formatting.visible_pair(g["before"], g["after"])]
    ]
    changed = sum(g["before"] != g["after"] for g in generations)
    return Generations(
        "Generations, side by side",
        f"Greedy continuations; {changed} of {len(generations)} changed (highlighted).",
        Table(["Prompt", "Before", "After"], rows),
    )


def short_module_names(names: Sequence[str]) -> list[str]:
    """Module names without the dotted prefix they all share: "transformer.h.0.attn" -> "0.attn"."""
    if len(names) < 2:
        return list(names)
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[: prefix.rstrip(".").rfind(".") + 1] if "." in prefix.rstrip(".") else ""
    return [name[len(prefix) :] or name for name in names]


def _sweep_table(entries: Sequence[Mapping[str, Any]], position_key: str, position_label: str) -> Table:
    """One row per sweep step: its position (k or layer), then every metric it measured, in vocabulary order."""
    order = list(METRICS)
    names = sorted(
        {name for entry in entries for name in entry.get("metrics", {})},
        key=lambda name: (order.index(name) if name in order else len(order), name),
    )
    rows = [
        [
            Cell(str(entry[position_key])),
            *(Cell(formatting.number_text(entry.get("metrics", {}).get(name), name)) for name in names),
        ]
        for entry in entries
    ]
    return Table([position_label, *(text.metric_label(name) for name in names)], rows)


_SWEEPS = (
    # report.json key, position key, section title, chart title, position label
    (
        "truncation",
        "k",
        "Truncation sweep: every ΔW cut to its top k directions",
        "Test-split metrics as more directions are kept",
        "k (directions kept)",
    ),
    (
        "layers",
        "layer",
        "Layer sweep: the edit with one layer's adapter switched off",
        "Test-split metrics with one layer's adapter off",
        "Layer switched off",
    ),
)


def build_spectral(report: Mapping[str, Any]) -> Spectral:
    spectral = report.get("spectral")
    title = "Where the effect lives"
    if not spectral:
        return Spectral(title, False, "", "The spectral view was not computed for this run.", None, None, [])
    modules = spectral.get("modules") or []
    spectrum_chart = module_table = None
    if modules:
        short_names = short_module_names([module["name"] for module in modules])
        spectrum_chart = LineChart(
            "Singular values of each module's ΔW = (alpha/r)·B·A",
            [
                LineSeries(short, [(float(i), s) for i, s in enumerate(module["singular_values"], start=1)])
                for short, module in zip(short_names, modules, strict=True)
            ],
            "direction (by size)",
            "singular value",
        )
        rows = [
            [
                Cell(module["name"]),
                Cell(formatting.MISSING if module.get("layer") is None else str(module["layer"])),
                Cell(formatting.number_text(module.get("effective_rank"), fmt=".2f")),
                Cell(formatting.number_text(module.get("relative_norm"), fmt=".3g")),
                Cell(", ".join(f"{s:.3g}" for s in module["singular_values"][:8])),
            ]
            for module in modules
        ]
        module_table = Table(
            ["Module", "Layer", "Effective rank", "‖ΔW‖ / ‖W‖", "Singular values (largest first)"], rows
        )
    after = report["metrics"]["after"]
    sweeps = []
    for key, position_key, sweep_title, chart_title, position_label in _SWEEPS:
        entries = spectral.get(key) or []
        if not entries:
            continue
        names = [name for name in RATE_METRICS if any(name in entry.get("metrics", {}) for entry in entries)]
        series = [
            LineSeries(
                text.metric_label(name),
                [(entry[position_key], entry.get("metrics", {}).get(name)) for entry in entries],
            )
            for name in names
        ]
        references = (
            [
                (text.metric_label(name), after[name]["value"])
                for name in names
                if after.get(name, {}).get("value") is not None
            ]
            if key == "layers"
            else []
        )
        chart = LineChart(chart_title, series, position_label, "metric value", references, (0.0, 1.0))
        sweeps.append(Subsection(sweep_title, _sweep_table(entries, position_key, position_label), chart))
    statement = LOCATION_STATEMENT if sweeps else ""  # no sweep shown: nothing for the statement to be about
    return Spectral(title, True, statement, str(spectral.get("note") or ""), spectrum_chart, module_table, sweeps)


def build_earlier_edits(report: Mapping[str, Any]) -> Subsection | None:
    """Per earlier edit of the model version: its regression probes' success before and after, by margin
    and by what the model says, with intervals; None when there were no earlier edits."""
    edits = report.get("earlier_edits") or []
    if not edits:
        return None
    rows = []
    for edit in edits:
        before, after, tests = edit["before"], edit["after"], edit["tests"]
        margin = edit.get("margin_change") or {}
        rows.append(
            [
                Cell(edit["label"]),
                Cell(str(edit["run_id"]), numeric=True),
                *(
                    Cell(formatting.estimate_text(phase[name], name), numeric=True)
                    for name in ("regression", "regression_says")
                    for phase in (before, after)
                ),
                Cell(formatting.p_value_text(tests["regression_says"].get("p_value")), numeric=True),
                Cell(formatting.estimate_text(margin, fmt="+.3f") if margin else formatting.MISSING, numeric=True),
                Cell(str(after["regression_says"]["n"]), numeric=True),
            ]
        )
    ledger = text.is_ledger(report.get("run"))
    before_word, after_word = ("when made", "now") if ledger else ("before", "after")
    headers = [
        "Edit" if ledger else "Earlier edit",
        "Run",
        f"Wins {before_word} [95% CI]",
        f"Wins {after_word}",
        f"Says {before_word} [95% CI]",
        f"Says {after_word}",
        "p (says)",
        "Margin change [95% CI]",
        "n",
    ]
    labels = [edit["label"] for edit in edits]
    chart = IntervalChart(
        "Share of each edit's regression probes still saying its answer, 95% intervals",
        labels,
        [
            IntervalSeries(before_word, BEFORE_COLOUR, [edit["before"]["regression_says"] for edit in edits]),
            IntervalSeries(after_word, AFTER_COLOUR, [edit["after"]["regression_says"] for edit in edits]),
        ],
        "share of probes",
        (0.0, 1.0),
    )
    note = (
        "Each earlier edit's test edit and paraphrase probes, scored again as regression probes: "
        "`wins` = its answer (target) beats what it replaced (foil), `says` = the greedy continuation begins "
        "with its answer. Wilson intervals; p is McNemar's exact test on the probes that flipped; the margin "
        "change is the mean of after − before (nats) with a bootstrap interval. The `regressions` gate judges "
        "`says` after, per edit."
    )
    title = "Edits in the chain: do they still hold?" if ledger else "Earlier edits: do they still hold?"
    return Subsection(title, Table(headers, rows), chart, note, chart_first=False)


def build_run_record(report: Mapping[str, Any]) -> RunRecord:
    run = report.get("run") or {}
    entries = [
        RunEntry(key, json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False), True)
        if isinstance(value, Mapping | list | tuple)
        else RunEntry(key, str(value), False)
        for key, value in sorted(run.items())
    ]
    return RunRecord("Run record", entries, json.dumps(run, indent=2, sort_keys=True, ensure_ascii=False))


def build_report(report: Mapping[str, Any]) -> Report:
    """Every section of one report, from `report.json`'s dict."""
    return Report(
        text.run_title(report),
        report.get("schema_version"),
        build_verdict(report),
        build_contamination(report.get("contamination") or []),
        build_summary(report),
        build_metrics(report),
        build_probes(report),
        build_generations(report),
        build_spectral(report),
        build_run_record(report),
        build_earlier_edits(report),
    )
