"""Earlier edits re-checked: per earlier edit, how its regression probes fared before and after this one.

A run on a stored model version re-scores the test edit and paraphrase probes of
every edit in the version's ancestry as `regression` probes (the target is what
that edit taught). This module splits them by the edit they came from and gives
each edit its success before and after, by margin (`regression`) and by what the
model says (`regression_says`), with Wilson intervals, the paired McNemar test,
and the mean margin change with its bootstrap interval. The `regressions` gate
reads the after estimates per edit (`evaluate_gates`' `by_edit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from editing.impact.metrics import margin_changes, mcnemar_entry, pair_scores, probe_outcomes, rate_metrics
from editing.impact.statistics import Estimate
from editing.vocab import METRICS

if TYPE_CHECKING:  # probes' scoring imports torch; this module only reads the dataclasses' fields
    from editing.probes.scoring import ProbeScore

REGRESSION_METRICS: tuple[str, ...] = tuple(
    name for name, m in METRICS.items() if m.rate and m.probe_kind == "regression"
)


@dataclass(frozen=True)
class EarlierEdit:
    """An edit in the ancestry of the version a run starts from, and the ids of its regression probes."""

    name: str  # the edit's spec name
    version_id: int  # the model version its run made
    run_id: int
    probe_ids: tuple[str, ...]  # its regression probes, as this run names them

    @property
    def label(self) -> str:
        """How gates and reports name it: `swap-dog-cat (version 2)`."""
        return f"{self.name} (version {self.version_id})"


def _of_edit(scores: Sequence[ProbeScore], edit: EarlierEdit) -> list[ProbeScore]:
    ids = set(edit.probe_ids)
    return [s for s in scores if s.probe.id in ids]


def earlier_edit_rows(
    before: Sequence[ProbeScore], after: Sequence[ProbeScore], edits: Sequence[EarlierEdit], seed: int = 0
) -> list[dict[str, Any]]:
    """report.json's `earlier_edits`: one entry per earlier edit, oldest first; empty without ancestry."""
    rows = []
    for edit in edits:
        b, a = _of_edit(before, edit), _of_edit(after, edit)
        pair_scores(b, a)  # the same probes in both phases, else a clear error
        before_rates, after_rates = rate_metrics(b, split="test"), rate_metrics(a, before=b, split="test")
        outcomes_before, outcomes_after = probe_outcomes(b, None, "test"), probe_outcomes(a, b, "test")
        margin = margin_changes(b, a, split="test", seed=seed).get("regression")
        tests = {name: mcnemar_entry(outcomes_before[name], outcomes_after[name]) for name in REGRESSION_METRICS}
        rows.append(
            {
                "name": edit.name,
                "version_id": edit.version_id,
                "run_id": edit.run_id,
                "label": edit.label,
                "before": {name: before_rates[name].to_dict() for name in REGRESSION_METRICS},
                "after": {name: after_rates[name].to_dict() for name in REGRESSION_METRICS},
                "tests": tests,
                "margin_change": margin,
            }
        )
    return rows


def after_estimates(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Estimate]]:
    """Per earlier edit (by label), its after estimates: what the `regressions` gate judges."""
    return {row["label"]: {name: Estimate(**row["after"][name]) for name in REGRESSION_METRICS} for row in rows}
