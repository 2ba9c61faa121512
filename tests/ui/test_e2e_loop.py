"""The whole loop in a real browser: an admin launches the dog-cat edit from the Edit tab, watches it
finish, opens its report, sends its leaks to labelling and promotes the version; an annotator's next
item is then the new version's output. The database rows are checked after each step."""

from __future__ import annotations

import os
import signal
import time

from editing.probes import TOYWORLD_DATA
from feedback_ui.edit_jobs import EditJobs
from tests.ui.conftest import LiveApp, login, save_screenshot

EDIT_TIMEOUT_S = 900  # about 10 s on an idle machine; minutes when CI shares its cores
SLOW_MS = 300_000  # report, generation with the new adapter: seconds alone, minutes on a loaded machine


def pick(page, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def watch_edit(page) -> list[str]:
    """The progress captions seen until the edit ends; fails fast if it fails or is interrupted."""
    bar = page.locator("#edit-progress .edit-progress")
    seen: list[str] = []
    deadline = time.monotonic() + EDIT_TIMEOUT_S
    while time.monotonic() < deadline:
        if bar.count():
            state, caption = bar.get_attribute("data-state"), bar.inner_text()
            if not seen or seen[-1] != caption:
                seen.append(caption)
            assert state not in ("failed", "interrupted"), caption
            if state == "succeeded":
                return seen
        page.wait_for_timeout(500)
    raise AssertionError(f"the edit did not finish in {EDIT_TIMEOUT_S} s; progress seen: {seen}")


def test_admin_edits_reports_follows_up_and_promotes_then_an_annotator_labels_the_new_version(
    browser, live_app: LiveApp
) -> None:
    store, home = live_app.store, live_app.env.home
    store.import_judgments(TOYWORLD_DATA / "demo_feedback.jsonl", create_annotators=True)
    admin = login(browser, live_app, "admin")

    # Edit: pick the example, see it validated, launch it, watch the bar to the end
    admin.get_by_role("tab", name="Edit").click()
    pick(admin, "#edit-spec", "examples/dog-cat-swap.yaml")
    admin.locator("#edit-load").click()
    admin.locator("#edit-validity").get_by_text("valid spec").wait_for(timeout=60_000)
    admin.locator("#edit-launch").click()
    seen: list[str] = []
    try:
        seen = watch_edit(admin)  # from the moment the launch answers: the bar starts empty
    finally:  # a failed or stuck edit must not leave its worker running after the test
        holder = EditJobs(home, store).holder()
        if not seen and holder is not None:
            os.kill(holder["pid"], signal.SIGKILL)
    [run] = store.runs()
    assert run.status == "succeeded" and run.result_version_id is not None, run
    assert any(caption.startswith("running: ") for caption in seen), seen  # the bar moved while it ran
    assert seen[-1].startswith(f"succeeded (run {run.id}")
    assert admin.locator("#edit-message").inner_text().startswith("Launched job")
    assert "training examples" in admin.locator("#edit-plan").inner_text()
    assert admin.locator("#edit-progress progress").get_attribute("value") == "1"
    assert (home / "adapters" / str(run.id) / "adapter_config.json").is_file()
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
    alice = login(browser, live_app, "alice")
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
