"""The Compare tab through its API: a pair per prompt, sides seeded per annotator, a preference row per submit."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError

from tests.ui.conftest import LiveApp

PROMPT, A, B, VERDICT, REASON, STATUS = range(6)  # the server-side state is not returned


def test_a_preference_is_stored_and_sources_are_told_only_after(live_app: LiveApp) -> None:
    alice = live_app.client("alice")
    shown = alice.predict(api_name="/compare_next")
    assert shown[A].strip() and shown[B].strip() and shown[A] != shown[B]
    assert "version" not in shown[STATUS]
    with pytest.raises(AppError, match="Pick A, B or Tie"):
        alice.predict(None, "", api_name="/compare_submit")
    after = alice.predict("a", "<b>clearer</b>", api_name="/compare_submit")
    assert "In that pair, A was model version" in after[STATUS]
    (preference,) = live_app.store.judgments_for(kinds=["preference"])
    assert (preference.verdict, preference.note, preference.output) == ("a", "<b>clearer</b>", shown[A])
    assert preference.output_b == shown[B]


def test_sides_are_the_same_for_one_annotator_on_reload(live_app: LiveApp) -> None:
    first = live_app.client("bob").predict(api_name="/compare_next")
    again = live_app.client("bob").predict(api_name="/compare_next")
    assert (first[A], first[B]) == (again[A], again[B])
