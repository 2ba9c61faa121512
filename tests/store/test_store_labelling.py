"""How a label is read (a correction implies "down", one live judgment per output) and what a run sends
back to labelling (the prompts its report flags, tagged with the run)."""

from __future__ import annotations

import pytest

from store import InvalidInput, Store
from store.labelling import followup_prompts
from tests.store.helpers import seed_outputs


def test_a_correction_without_a_verdict_is_a_down_correction_and_blank_text_is_none(store: Store) -> None:
    store.add_annotator("alice")
    first, second, third = seed_outputs(store, 3)
    corrected = store.label_output("alice", first, None, "  The dog says meow.  ")
    assert (corrected.kind, corrected.verdict, corrected.correction) == ("correction", "down", "The dog says meow.")
    rated = store.label_output("alice", second, "up", "   ")
    assert (rated.kind, rated.verdict, rated.correction) == ("rating", "up", None)
    overruled = store.label_output("alice", third, "up", "It says woof.")
    assert (overruled.kind, overruled.verdict) == ("correction", "up")  # a verdict given stands


def test_a_label_with_neither_verdict_nor_correction_is_refused_and_nothing_is_written(store: Store) -> None:
    store.add_annotator("alice")
    (output,) = seed_outputs(store, 1)
    with pytest.raises(InvalidInput, match="needs a verdict"):
        store.label_output("alice", output, None, " ")
    assert store.judgments_for(status=None) == []


def test_labelling_an_output_again_updates_the_one_live_judgment(store: Store) -> None:
    store.add_annotator("alice")
    (output,) = seed_outputs(store, 1)
    draft = store.label_output("alice", output, "down", note="half done", status="draft")
    again = store.label_output("alice", output, "up", tags=["dog-cat"], note="done")  # a second tab, or a reload
    reopened = store.label_output("alice", output, None, "It says meow.", judgment_id=draft.id)
    assert again.id == reopened.id == draft.id
    assert [(h.kind, h.verdict, h.status) for h in store.judgment_history(draft.id)] == [
        ("rating", "down", "draft"),
        ("rating", "up", "submitted"),
        ("correction", "down", "submitted"),
    ]
    assert reopened.tags == ("dog-cat",) and len(store.judgments_for(status=None)) == 1


REPORT = {
    "probes": [
        {"prompt": "The dog says", "finding": "leak"},
        {"prompt": "A cat says", "finding": "fixed"},
        {"prompt": "The capital of Ardenia is", "finding": "damaged"},
        {"prompt": "Dogs say", "finding": "says old"},
        {"prompt": "The dog says", "finding": "says old"},
        {"prompt": "  ", "finding": "leak"},
    ],
    "generations": [
        {"prompt": "The dog eats", "before": "meat.", "after": "fish."},
        {"prompt": "The cat eats", "before": "fish.", "after": "fish."},
    ],
}
FLAGGED = ["The dog says", "The capital of Ardenia is", "Dogs say", "The dog eats"]


def test_a_report_sends_its_leaks_old_answers_damaged_controls_and_changed_generations_once_each() -> None:
    assert followup_prompts(REPORT) == FLAGGED


def finished_run(store: Store) -> int:
    base = store.ensure_base_version("toyworld")
    run_id = store.create_run({"name": "swap"}, "spec-hash", "data-hash", 0, base_version_id=base.id)
    store.mark_run(run_id, "running")
    store.finish_run(run_id, base.id, "adapters/1", "0" * 64, {"verdict": {"status": "pass"}}, passed=True)
    return run_id


def test_followup_prompts_are_added_tagged_with_the_run_and_stored_prompts_gain_the_tags(store: Store) -> None:
    store.add_prompt("Dogs say", tags=["dog-cat"])
    run_id = finished_run(store)
    added = store.add_followup_prompts(run_id, REPORT)
    assert [p.text for p in added] == FLAGGED
    assert {p.text: p.tags for p in added}["Dogs say"] == ("dog-cat", "followup", f"run-{run_id}")
    assert all({"followup", f"run-{run_id}"} <= set(p.tags) for p in added)
    assert [p.text for p in store.prompts(tags=[f"run-{run_id}"])] == ["Dogs say", *FLAGGED[:2], FLAGGED[3]]


def test_a_run_without_a_version_sends_nothing(store: Store) -> None:
    failed = store.create_run({"name": "swap"}, "spec-hash", "data-hash", 0)
    with pytest.raises(InvalidInput, match=f"run {failed} made no model version"):
        store.add_followup_prompts(failed, REPORT)
    assert store.prompts() == []


def test_the_tags_to_pick_from_are_every_prompts_tags_read_when_asked(store: Store) -> None:
    store.add_prompt("a", tags=["swap", "dog-cat"])
    assert store.prompt_tag_names() == ["dog-cat", "swap"]
    store.add_prompt("b", tags=["capitals"])
    assert store.prompt_tag_names() == ["capitals", "dog-cat", "swap"]
