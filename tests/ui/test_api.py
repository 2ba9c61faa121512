"""A script through gradio_client: each endpoint's values come in the documented order, and each
session keeps its own place in the queue on the server."""

from __future__ import annotations

from tests.ui.conftest import LiveApp, value

PROMPT, OUTPUT, VERDICT, CORRECTION, TAGS, NOTE, STATUS = range(7)  # /label_*; the item's state stays on the server


def test_a_script_labels_and_each_session_keeps_its_own_place(live_app: LiveApp) -> None:
    first_tab, second_tab = live_app.client("alice"), live_app.client("alice")
    shown = first_tab.predict(api_name="/label_next")
    assert len(shown) == 7 and value(shown[PROMPT]) == "The dog says" and shown[OUTPUT].strip() == "woof."
    assert shown[STATUS].startswith("Output ") and "dog-cat" in value(shown[TAGS])
    after = first_tab.predict("up", "", ["dog-cat"], "fine", api_name="/label_submit")
    (judgment,) = live_app.store.judgments_for()
    assert after[STATUS].startswith(f"Saved judgment #{judgment.id}.") and value(after[PROMPT]) == "The dog eats"
    assert (judgment.annotator, judgment.verdict, judgment.note) == ("alice", "up", "fine")
    skipped = first_tab.predict(api_name="/label_skip")
    assert value(skipped[PROMPT]) == "The dog lives in a"
    assert value(second_tab.predict(api_name="/label_next")[PROMPT]) == "The dog eats"  # its own place
    progress, recent = first_tab.predict(api_name="/label_progress")
    assert progress.startswith("**Me:** 1 submitted") and recent["choices"][0][1] == judgment.id
