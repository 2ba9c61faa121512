"""The Compare tab's handlers: a pair per prompt, sides seeded per annotator, a preference row per submit."""

from __future__ import annotations

import gradio as gr
import pytest

from feedback_ui.tabs import compare
from tests.ui.conftest import InProcessApp, as_user


def test_a_preference_is_stored_and_sources_are_told_only_after(ui: InProcessApp) -> None:
    ctx, view, alice = ui.ctx, ui.tabs.compare, as_user("alice")
    shown = compare.first_pair(ctx, view, alice)
    assert shown[view.output_a].strip() and shown[view.output_b].strip()
    assert shown[view.output_a] != shown[view.output_b]
    assert "version" not in shown[view.status]
    with pytest.raises(gr.Error, match="Pick A, B or Tie"):
        compare.submit(ctx, view, shown[view.pair], None, "", alice)
    after = compare.submit(ctx, view, shown[view.pair], "a", "<b>clearer</b>", alice)
    (preference,) = ui.store.judgments_for(kinds=["preference"])
    assert after[view.status].startswith(f"Saved preference #{preference.id}. In that pair, A was model version")
    assert (preference.verdict, preference.note, preference.output) == ("a", "<b>clearer</b>", shown[view.output_a])
    assert preference.output_b == shown[view.output_b]
    assert after[view.pair]["prompt_id"] != shown[view.pair]["prompt_id"]  # the next prompt's pair
    assert after[view.verdict] is None and after[view.reason] == ""


def test_sides_are_the_same_for_one_annotator_on_reload(ui: InProcessApp) -> None:
    first, again = (compare.first_pair(ui.ctx, ui.tabs.compare, as_user("bob")) for _ in range(2))
    view = ui.tabs.compare
    assert (first[view.output_a], first[view.output_b]) == (again[view.output_a], again[view.output_b])
