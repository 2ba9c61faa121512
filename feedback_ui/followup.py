"""From a finished run to the next round of labelling: its report, and the prompts it says to look at.

"Send to labelling" queues the prompts where the edit went wrong or changed what the model
says, as the store picks them from the report (`Store.add_followup_prompts`), with the outputs
of the run's new version, so annotators judge exactly those outputs next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from editing.generation import ModelCache, generate_outputs
from editing.report import read_report
from store import EditRun, Generation, Store


class ReportUnavailable(LookupError):
    """The run has no report the app may show; the message says why."""


def report_folder(run: EditRun, reports_dir: Path) -> Path:
    """The run's report folder, only if it lies inside the workspace's reports folder."""
    recorded = (run.metrics or {}).get("report")
    if run.status != "succeeded" or not recorded:
        raise ReportUnavailable(f"run {run.id} is {run.status}; only a succeeded run has a report")
    folder = Path(recorded).resolve().parent
    if not folder.is_relative_to(reports_dir.resolve()) or not (folder / "report.html").is_file():
        raise ReportUnavailable(f"run {run.id}'s report is not in this workspace's reports folder")
    return folder


def run_report(run: EditRun, reports_dir: Path) -> dict[str, Any]:
    return read_report(report_folder(run, reports_dir))


def send_to_labelling(store: Store, run: EditRun, reports_dir: Path, models: ModelCache) -> list[Generation]:
    """Add the prompts the run's report flags (`Store.add_followup_prompts`) with its new version's outputs."""
    if run.result_version_id is None:
        raise ReportUnavailable(f"run {run.id} made no model version; there is nothing to label")
    prompts = store.add_followup_prompts(run.id, run_report(run, reports_dir))
    return generate_outputs(store, run.result_version_id, prompt_ids=[p.id for p in prompts], models=models)
