"""The Reports tab's handlers over the session's finished dog-cat edit: list it, read its report, compare
it, send its leaks to labelling and promote it; the rows are checked after each step."""

from __future__ import annotations

import gradio as gr
import pytest

from editing.generation import ModelCache
from feedback_ui.tabs import label, reports
from tests.ui.conftest import FinishedEdit, InProcessApp, UiEnv, as_user, built, value


@pytest.fixture
def after_edit(edited_env: UiEnv, model_cache: ModelCache) -> InProcessApp:
    """The app over a copy of the store the session's edit left, in the edit's workspace."""
    return built(edited_env, model_cache)


def test_the_run_is_listed_and_its_report_opens_and_compares_in_a_sandbox(
    after_edit: InProcessApp, finished_edit: FinishedEdit
) -> None:
    ctx, view, alice = after_edit.ctx, after_edit.tabs.reports, as_user("alice")
    run_id = str(finished_edit.run_id)
    listed = reports.list_runs(ctx, view, alice)
    assert listed[view.runs][0][:3] == [run_id, "swap-dog-cat", "succeeded"]
    assert listed[view.chosen]["choices"] == listed[view.other]["choices"] == [run_id]
    shown = reports.show(ctx, view, run_id, alice)
    assert shown[view.report].startswith('<iframe class="nudge-report" sandbox="allow-scripts" srcdoc="')
    assert "Content-Security-Policy" in shown[view.report]
    assert shown[view.message] == f"Report of run {run_id} (swap-dog-cat)."
    compared = reports.compare(ctx, view, run_id, run_id, alice)
    assert "srcdoc=" in compared[view.report]
    assert compared[view.message] == f"Run {run_id} compared with run {run_id}."
    with pytest.raises(gr.Error, match="There is no run '99'"):
        reports.show(ctx, view, "99", alice)


def test_leaks_are_sent_to_labelling_and_the_promoted_version_is_labelled_next(
    after_edit: InProcessApp, finished_edit: FinishedEdit
) -> None:
    ctx, view, store, admin = after_edit.ctx, after_edit.tabs.reports, after_edit.store, as_user("admin")
    run = store.run(finished_edit.run_id)
    queued = reports.send_followup(ctx, view, str(run.id), admin)[view.message]
    followups = store.prompts(tags=[f"run-{run.id}"])
    outputs = [g for p in followups for g in store.generations_for(p.id)]
    assert followups and {g.model_version_id for g in outputs} == {run.result_version_id}
    assert queued == (
        f"Queued {len(outputs)} output(s) of model version {run.result_version_id} for labelling "
        f"(prompts tagged `followup` and `run-{run.id}`)."
    )
    assert store.current_model_version() is None  # queued for the new version, not yet promoted

    promoted = reports.promote(ctx, view, str(run.id), admin)
    assert promoted[view.message].startswith(f"Model version {run.result_version_id} (from run {run.id}) is now")
    assert promoted[view.runs][0][6] == "yes"
    assert store.current_model_version().id == run.result_version_id
    shown = label.show_next(ctx, after_edit.tabs.label, as_user("alice"))
    generation = shown[after_edit.tabs.label.on_screen]["generation_id"]
    assert generation in {g.id for g in outputs}
    assert value(shown[after_edit.tabs.label.prompt]) in {p.text for p in followups}
