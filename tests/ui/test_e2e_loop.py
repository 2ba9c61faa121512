"""The whole loop in a real browser, from the session's dog-cat edit launched from the Edit tab: the admin
sees the spec validated, its dry run and the finished edit's bar, opens its report, sends its leaks to
labelling and promotes the version; an annotator's next item is then the new version's output. The
database rows are checked after each step."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from editing.generation import ModelCache
from tests.ui.conftest import FinishedEdit, LiveApp, UiEnv, launch, login, save_screenshot

SLOW_MS = 300_000  # report, generation with the new adapter: seconds alone, minutes on a loaded machine


@pytest.fixture
def live_after_edit(edited_env: UiEnv, model_cache: ModelCache) -> Iterator[LiveApp]:
    """The app served over a copy of the store the session's edit left, in the edit's workspace."""
    yield from launch(edited_env, model_cache)


def pick(page, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_admin_reads_the_edit_reports_follows_up_and_promotes_then_an_annotator_labels_the_new_version(
    browser, live_after_edit: LiveApp, finished_edit: FinishedEdit
) -> None:
    live = live_after_edit
    store = live.store
    run = store.run(finished_edit.run_id)
    admin = login(browser, live, "admin")

    # Edit: pick the example, see it validated and its dry run; the bar shows the edit launched from this tab
    admin.get_by_role("tab", name="Edit").click()
    pick(admin, "#edit-spec", "examples/dog-cat-swap.yaml")
    admin.locator("#edit-load").click()
    admin.locator("#edit-validity").get_by_text("valid spec").wait_for(timeout=60_000)
    admin.locator("#edit-dry-run").click()
    admin.locator("#edit-plan").get_by_text("training examples").wait_for(timeout=SLOW_MS)
    bar = admin.locator('#edit-progress .edit-progress[data-state="succeeded"]')
    bar.wait_for()
    assert bar.inner_text().startswith(f"succeeded (run {run.id}")
    assert admin.locator("#edit-progress progress").get_attribute("value") == "1"
    save_screenshot(admin, "edit.png")

    # Reports: the run is listed with its verdict; its report opens in a sandboxed frame
    admin.get_by_role("tab", name="Reports").click()
    admin.locator("#reports-refresh").click()
    listed = admin.locator("#reports-runs div[role=row]").filter(has_text="swap-dog-cat")
    listed.get_by_role("gridcell", name="succeeded", exact=True).wait_for(timeout=60_000)
    pick(admin, "#reports-run", str(run.id))
    admin.locator("#reports-open").click()
    frame = admin.locator("#reports-report iframe.nudge-report")
    frame.wait_for(timeout=SLOW_MS)
    assert frame.get_attribute("sandbox") == "allow-scripts"
    admin.frame_locator("#reports-report iframe.nudge-report").get_by_text("swap-dog-cat").first.wait_for()

    # Send to labelling: the leaks' prompts come back with the new version's outputs
    admin.locator("#reports-followup").click()
    queued = admin.locator("#reports-message").get_by_text("Queued")
    queued.wait_for(timeout=SLOW_MS)
    followups = {p.id: p.text for p in store.prompts(tags=[f"run-{run.id}"])}
    outputs = {
        g.prompt_id: g
        for pid in followups
        for g in store.generations_for(pid)
        if g.model_version_id == run.result_version_id
    }
    assert followups and set(outputs) == set(followups)
    assert queued.inner_text().startswith(f"Queued {len(outputs)} output(s) of model version {run.result_version_id}")
    assert store.current_model_version() is None  # queued for the new version, not yet promoted

    # Promote: the new version becomes the one annotators label
    admin.locator("#reports-promote").click()
    admin.locator("#reports-message").get_by_text("is now current").wait_for(timeout=SLOW_MS)
    assert store.current_model_version().id == run.result_version_id
    listed.get_by_role("gridcell", name="yes", exact=True).wait_for()
    save_screenshot(admin, "reports.png")

    # An annotator in another browser gets the new version's output of a follow-up prompt next
    alice = login(browser, live, "alice")
    alice.wait_for_function("() => document.querySelector('#label-prompt textarea')?.value.length > 0", timeout=SLOW_MS)
    prompt = alice.locator("#label-prompt textarea").input_value()
    [prompt_id] = [pid for pid, text in followups.items() if text == prompt]
    assert alice.locator("#label-output textarea").input_value() == outputs[prompt_id].text
    alice.get_by_label("Bad (2)").check()
    alice.locator("#label-submit").click()
    alice.wait_for_function(
        "p => document.querySelector('#label-prompt textarea')?.value !== p", arg=prompt, timeout=SLOW_MS
    )
    alice_judged = store.judgments_for(annotators=["alice"])  # the demo feedback has an alice too
    [judgment] = [j for j in alice_judged if j.model_version_id == run.result_version_id]
    assert (judgment.generation_id, judgment.verdict, judgment.prompt) == (outputs[prompt_id].id, "down", prompt)
