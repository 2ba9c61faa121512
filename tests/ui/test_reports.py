"""The loop through the API (gradio_client): launch the dog-cat edit, read its report, send its leaks to
labelling, promote it; annotators are refused the admin steps. The database rows are checked after each step."""

from __future__ import annotations

import time

import pytest
from gradio_client.exceptions import AppError

from editing.probes import TOYWORLD_DATA
from editing.toyworld.paths import EXAMPLES

SPEC = (EXAMPLES / "dog-cat-swap.yaml").read_text(encoding="utf-8")


def test_launch_report_followup_promote_through_the_api(live_app) -> None:
    store = live_app.store
    store.import_judgments(TOYWORLD_DATA / "demo_feedback.jsonl", create_annotators=True)
    admin, alice = live_app.client("admin"), live_app.client("alice")

    with pytest.raises(AppError, match="only an admin"):
        alice.predict(SPEC, api_name="/edit_launch")
    assert store.runs() == []

    message, plan, _, _ = admin.predict(SPEC, api_name="/edit_launch")
    assert message.startswith("Launched job") and "training examples" in plan
    with pytest.raises(AppError, match="already running"):
        admin.predict(SPEC, api_name="/edit_launch")
    bar = ""
    try:
        deadline = time.monotonic() + 900  # about 10 s alone; far longer on a loaded CI machine
        while 'data-state="succeeded"' not in (bar := admin.predict(api_name="/edit_progress")):
            assert "failed" not in bar and "interrupted" not in bar, bar
            assert time.monotonic() < deadline, bar
            time.sleep(1)
    finally:
        if 'data-state="succeeded"' not in bar:
            admin.predict(api_name="/edit_cancel")  # never leave the worker running after the test
    [run] = store.runs()
    assert run.status == "succeeded" and run.result_version_id is not None

    rows, _, _ = admin.predict(api_name="/reports_list")
    assert rows["data"][0][:3] == [str(run.id), "swap-dog-cat", "succeeded"]
    page, _ = alice.predict(str(run.id), api_name="/reports_open")
    assert '<iframe class="nudge-report" sandbox="allow-scripts" srcdoc="' in page and "Content-Security-Policy" in page
    page, _ = alice.predict(str(run.id), str(run.id), api_name="/reports_compare")
    assert "srcdoc=" in page

    with pytest.raises(AppError, match="only an admin"):
        alice.predict(str(run.id), api_name="/reports_promote")
    with pytest.raises(AppError, match="only an admin"):
        alice.predict(str(run.id), api_name="/reports_send_to_labelling")
    assert store.current_model_version() is None

    queued = admin.predict(str(run.id), api_name="/reports_send_to_labelling")
    followups = store.prompts(tags=[f"run-{run.id}"])
    assert followups and f"Queued {len(followups)} output(s)" in queued
    outputs = [g for p in followups for g in store.generations_for(p.id)]
    assert {g.model_version_id for g in outputs} == {run.result_version_id}

    message, _ = admin.predict(str(run.id), api_name="/reports_promote")
    assert f"Model version {run.result_version_id}" in message
    assert store.current_model_version().id == run.result_version_id
    item = store.next_item_for("alice", model_version_id=run.result_version_id)
    assert item is not None and item.model_version_id == run.result_version_id
    assert item.prompt in {p.text for p in followups}


def test_a_probe_with_html_is_stored_and_shown_as_text(live_app) -> None:
    alice = live_app.client("alice")
    hostile = '<img src=x onerror="alert(1)"> The dog says'
    message, _, coverage, probes = alice.predict(
        "ui-suite", hostile, "meow", "woof", "paraphrase", "sound", api_name="/probes_add"
    )[:4]
    assert "Added 1 probe(s)" in message
    [probe] = live_app.store.probe_suite("ui-suite").probes
    assert probe.prompt == hostile and probe.meta["author"] == "alice" and probe.split in ("test", "val")
    assert probes["data"][0][4] == hostile
    assert [row[0] for row in coverage["data"]] == ["edit", "paraphrase", "leak", "control"]
