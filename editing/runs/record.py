"""Record a run: its probe scores and adapter in the store, its report on disk, all that reproduces it.

The adapter is registered as a model version in the same step that marks the run succeeded;
the report goes to $NUDGE_HOME/reports/<run-id>/, readable by its owner only. The report's
`run` section (`RunRecord`) says what was trained on, with what settings, on which weights.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from editing.lora import EditResult
from editing.prefixes import prefixes_record
from editing.probes import ProbeScore
from editing.report import write_report
from editing.runs.plan import RunPlan
from editing.workspace import reports_folder
from store import Store
from store import records as store_records
from store.private_files import make_private_dir, restrict_to_owner
from store.workspace import nudge_home


@dataclass
class BaseModelRecord:
    ref: str  # what the spec named
    fingerprint: str
    architecture: str
    version_id: int  # the stored model version the edit starts from
    merged_ancestors: list[int]  # adapter versions merged into the base, oldest first


@dataclass
class AdapterRecord:
    path: str  # relative to the workspace, so a shared report does not reveal the machine's layout
    sha256: str


@dataclass
class RunRecord:
    """The report's `run` section: everything needed to reproduce and trace the run."""

    id: int
    name: str
    spec: dict[str, Any]
    spec_hash: str
    data_hash: str  # sha256 of the training examples, in training order
    seed: int
    versions: dict[str, str]  # python and the libraries that shape the numbers
    device: str
    base_model: BaseModelRecord
    result_version_id: int
    standing: str  # the result version's: accepted | rejected (a failed verdict, not accepted explicitly)
    accepted_failed: bool  # accepted despite a failed verdict, because the spec or `--accept-failed` said so
    adapter: AdapterRecord
    adapted_modules: list[str]
    training: dict[str, Any]  # where the data came from, what was selected and dropped, how training went
    timings: dict[str, float]  # seconds per phase, and the total

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def library_versions() -> dict[str, str]:
    """Python and the libraries that shape the numbers, for the run record."""
    names = ("nudge", "torch", "transformers", "peft", "tokenizers")
    return {"python": platform.python_version(), **{n: metadata.version(n) for n in names}}


def training_record(plan: RunPlan, result: EditResult) -> dict[str, Any]:
    """The run record's `training`: where the data came from, what was selected, the settings, how it went."""
    return {
        "feedback_source": plan.feedback_source,
        "judgments_matched": plan.judgments,
        **plan.selection.to_dict(),
        "terminate": plan.training.terminate,
        "early_stop": plan.training.early_stop,
        "context_prefixes": prefixes_record(plan.training.prefixes, plan.prefix_texts, plan.spec.train.retain),
        "retain_left_out": plan.retain_left_out,
        "steps": result.steps,
        "stopped_early": result.stopped_early,
        "final_losses": result.history[-1] if result.history else {},
    }


def report_folder(run_id: int) -> Path:
    """Where a run's report is written."""
    return reports_folder() / str(run_id)


def _store_probe_results(
    store: Store, run_id: int, plan: RunPlan, before: list[ProbeScore], after: list[ProbeScore]
) -> None:
    """Keep every probe score of the run, keyed to stored (immutable, content-named) suites.

    Regression probes and earlier controls are scored against the earlier runs' stored probes; one
    that is also among this run's own (the same suite again) was scored identically and is kept once.
    """
    key_to_id: dict[str, int] = {}
    for suite in plan.suites:
        rows = [
            {
                "id": p.id,
                "prompt": p.prompt,
                "target": p.target,
                "foil": p.foil,
                "kind": p.kind,
                "split": p.split,
                "relation": p.relation,
                "subject": p.subject,
            }
            for p in suite.probes
        ]
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:12]
        stored = store.add_probe_suite(f"{suite.name}@{digest}", rows)
        key_to_id |= {p.key: p.id for p in stored.probes}
    own_rows = set(key_to_id.values())
    for probe_id, stored_id in plan.ancestry.stored_ids.items():
        if stored_id not in own_rows:
            key_to_id[probe_id] = stored_id
            own_rows.add(stored_id)
    results = [
        store_records.ProbeScore(key_to_id[s.probe.id], phase, s.target_logprob, s.foil_logprob, None, s.continuation)
        for phase, scores in (("before", before), ("after", after))
        for s in scores
        if s.probe.id in key_to_id
    ]
    store.record_probe_results(run_id, results)


def finish_run(
    store: Store,
    run_id: int,
    plan: RunPlan,
    scores: tuple[list[ProbeScore], list[ProbeScore]],
    impact: dict[str, Any],
    parent_id: int,
    adapter: AdapterRecord,
) -> store_records.ModelVersion:
    """Keep every probe score (before, after), then register the adapter and mark the run succeeded in one step.

    The run succeeded because it ran to the end; its verdict decides the version's standing: a failed
    one (or uncertain under --strict) makes a rejected version unless the spec accepts failed edits.
    The report is written after: its `run` section names the version registered here.
    """
    _store_probe_results(store, run_id, plan, *scores)
    return store.finish_run(
        run_id,
        parent_id,
        str(nudge_home() / adapter.path),
        adapter.sha256,
        metrics={
            "verdict": impact["verdict"],
            "metrics": impact["metrics"]["after"],
            "report": str(report_folder(run_id) / "report.json"),
            "adapter_sha256": adapter.sha256,
        },
        passed=bool(impact["verdict"]["passed"]),
        accept_failed=plan.spec.accept_failed,
    )


def write_private_report(report: dict[str, Any], run_id: int) -> dict[str, Path]:
    """The report's files, readable by their owner only."""
    folder = make_private_dir(report_folder(run_id))
    paths = write_report(report, folder)
    restrict_to_owner(folder)
    return paths
