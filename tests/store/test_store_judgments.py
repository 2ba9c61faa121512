"""Submitting, updating and discarding judgments: one live judgment per item, full history."""

from __future__ import annotations

import pytest

from store import (
    MAX_TEXT_CHARS,
    DuplicateJudgment,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Store,
)
from tests.store.helpers import seed_outputs, table_counts


@pytest.fixture
def items(store: Store) -> list[int]:
    store.add_annotator("alice")
    store.add_annotator("bob")
    return seed_outputs(store, 3, tags=("dog-cat",))


def test_submit_returns_the_judgment_with_what_it_is_about(store: Store, items: list[int]) -> None:
    judgment = store.submit_judgment("alice", items[0], "correction", "down", correction="meow", note="swap")
    assert (judgment.annotator, judgment.kind, judgment.verdict, judgment.status) == (
        "alice",
        "correction",
        "down",
        "submitted",
    )
    assert (judgment.prompt, judgment.output, judgment.correction) == ("prompt 0", "output 0", "meow")
    assert judgment.tags == ("dog-cat",)  # the prompt's tags by default
    assert judgment.model_ref == "toyworld" and judgment.version == 1
    assert judgment.created_at.tzinfo is not None
    assert store.judgment(judgment.id) == judgment


def test_a_second_live_judgment_on_the_same_item_is_refused_and_changes_nothing(store: Store, items: list[int]) -> None:
    store.submit_judgment("alice", items[0], "rating", "down")
    before = table_counts(store)
    with pytest.raises(DuplicateJudgment, match="alice already has judgment 1 on this item; update or discard"):
        store.submit_judgment("alice", items[0], "correction", "down", correction="meow")
    assert table_counts(store) == before
    store.submit_judgment("bob", items[0], "rating", "up")  # someone else may judge it too


def test_update_keeps_every_earlier_version(store: Store, items: list[int]) -> None:
    first = store.submit_judgment("alice", items[0], "rating", "down", status="draft")
    store.update_judgment("alice", first.id, kind="correction", correction="meow")
    final = store.update_judgment("alice", first.id, status="submitted", note="checked", tags=["x", "y"])
    assert (final.kind, final.verdict, final.correction, final.status, final.version) == (
        "correction",
        "down",
        "meow",
        "submitted",
        3,
    )
    assert final.tags == ("x", "y") and final.created_at == first.created_at
    history = store.judgment_history(first.id)
    assert [(v.version, v.kind, v.status, v.correction, v.tags) for v in history] == [
        (1, "rating", "draft", None, ("dog-cat",)),
        (2, "correction", "draft", "meow", ("dog-cat",)),
        (3, "correction", "submitted", "meow", ("x", "y")),
    ]


def test_an_update_that_changes_nothing_adds_no_version(store: Store, items: list[int]) -> None:
    judgment = store.submit_judgment("alice", items[0], "rating", "down")
    assert store.update_judgment("alice", judgment.id, verdict="down").version == 1
    assert len(store.judgment_history(judgment.id)) == 1


def test_back_to_a_rating_drops_the_correction_text(store: Store, items: list[int]) -> None:
    judgment = store.submit_judgment("alice", items[0], "correction", "down", correction="meow")
    rating = store.update_judgment("alice", judgment.id, kind="rating")
    assert rating.correction is None and rating.kind == "rating"


def test_discard_is_a_status_and_frees_the_item(store: Store, items: list[int]) -> None:
    judgment = store.submit_judgment("alice", items[0], "rating", "down")
    discarded = store.discard_judgment("alice", judgment.id)
    assert discarded.status == "discarded" and store.judgment(judgment.id).status == "discarded"
    again = store.submit_judgment("alice", items[0], "rating", "up")
    with pytest.raises(DuplicateJudgment, match="discard it before bringing back judgment 1"):
        store.update_judgment("alice", judgment.id, status="submitted")
    assert store.live_judgment("alice", items[0]) == again
    assert [j.id for j in store.judgments_for(status=None)] == [judgment.id, again.id]


def test_only_the_author_changes_a_judgment_and_disabled_accounts_judge_nothing(store: Store, items: list[int]) -> None:
    judgment = store.submit_judgment("alice", items[0], "rating", "down")
    with pytest.raises(PermissionDenied, match="not bob's"):
        store.update_judgment("bob", judgment.id, verdict="up")
    store.disable_annotator("bob")
    with pytest.raises(PermissionDenied, match="'bob' is disabled"):
        store.submit_judgment("bob", items[1], "rating", "up")


def test_preferences_judge_a_pair_of_outputs_of_one_prompt(store: Store) -> None:
    store.add_annotator("alice")
    version = store.ensure_base_version("toyworld")
    dog, cat = store.add_prompt("The dog says"), store.add_prompt("The cat says")
    woof, meow = store.add_generations(version.id, [(dog.id, "woof"), (dog.id, "meow")])
    (purr,) = store.add_generations(version.id, [(cat.id, "purr")])
    judgment = store.submit_judgment("alice", woof.id, "preference", "b", generation_b_id=meow.id)
    assert (judgment.output, judgment.output_b, judgment.item) == ("woof", "meow", (woof.id, meow.id))
    with pytest.raises(DuplicateJudgment):
        store.submit_judgment("alice", woof.id, "preference", "a", generation_b_id=meow.id)
    store.submit_judgment("alice", woof.id, "rating", "down")  # the single output is another item
    with pytest.raises(InvalidInput, match="two outputs of one prompt"):
        store.submit_judgment("alice", woof.id, "preference", "a", generation_b_id=purr.id)
    with pytest.raises(InvalidInput, match="needs generation_b_id"):
        store.submit_judgment("alice", woof.id, "preference", "a")
    with pytest.raises(InvalidInput, match="cannot become a rating"):
        store.update_judgment("alice", judgment.id, kind="rating")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "vibe", "verdict": "up"}, "kind 'vibe' is not one of rating, correction, preference"),
        ({"kind": "rating", "verdict": "b"}, "verdict for a rating 'b' is not one of up, down"),
        ({"kind": "correction", "verdict": "down", "correction": "   "}, "correction is empty"),
        (
            {"kind": "correction", "verdict": "down", "correction": "x" * (MAX_TEXT_CHARS + 1)},
            "over the limit of 20,000",
        ),
        ({"kind": "rating", "verdict": "up", "correction": "meow"}, "a rating carries no correction"),
        ({"kind": "rating", "verdict": "up", "status": "maybe"}, "status 'maybe'"),
        ({"kind": "rating", "verdict": "up", "tags": ["  "]}, "non-blank"),
    ],
)
def test_bad_values_are_refused_with_a_message_and_change_nothing(
    store: Store, items: list[int], kwargs: dict[str, object], message: str
) -> None:
    before = table_counts(store)
    with pytest.raises(InvalidInput, match=message):
        store.submit_judgment("alice", items[0], **kwargs)  # type: ignore[arg-type]
    assert table_counts(store) == before


def test_missing_generation_or_annotator_is_not_found(store: Store, items: list[int]) -> None:
    before = table_counts(store)
    with pytest.raises(NotFound, match="no generation 999"):
        store.submit_judgment("alice", 999, "rating", "up")
    with pytest.raises(NotFound, match="no annotator named 'carol'"):
        store.submit_judgment("carol", items[0], "rating", "up")
    assert table_counts(store) == before


def test_judgments_for_selects_what_an_edit_spec_asks_for(store: Store, items: list[int]) -> None:
    store.submit_judgment("alice", items[0], "correction", "down", correction="meow")
    store.submit_judgment("bob", items[0], "rating", "down", tags=["other"])
    store.submit_judgment("alice", items[1], "rating", "up", status="draft")
    gone = store.submit_judgment("bob", items[1], "rating", "up")
    store.discard_judgment("bob", gone.id)
    selected = store.judgments_for(tags=["dog-cat"], status="submitted")
    assert [(j.annotator, j.kind, j.item) for j in selected] == [("alice", "correction", (items[0], None))]
    assert len(store.judgments_for(status=None)) == 4
    assert len(store.judgments_for(status=["submitted", "draft"])) == 3
    assert [j.annotator for j in store.judgments_for(kinds=["rating"], annotators=["bob"])] == ["bob"]
    assert store.count_judgments() == {
        ("correction", "submitted"): 1,
        ("rating", "submitted"): 1,
        ("rating", "draft"): 1,
        ("rating", "discarded"): 1,
    }


def test_judgments_of_disabled_annotators_are_left_out_of_selection_and_export(store: Store, items: list[int]) -> None:
    store.add_annotator("root", role="admin")
    store.submit_judgment("alice", items[0], "correction", "down", correction="meow")
    store.submit_judgment("alice", items[1], "rating", "up")
    store.submit_judgment("bob", items[0], "correction", "down", correction="purr")
    store.disable_annotator("alice")
    assert [j.annotator for j in store.judgments_for()] == ["bob"]
    assert store.count_disabled_judgments() == 2
    assert store.count_disabled_judgments(kinds=["rating"]) == 1  # the same filters as the selection
    assert store.count_disabled_judgments(annotators=["bob"]) == 0
    assert [j.annotator for j in store.judgments_for(include_disabled=True)] == ["alice", "alice", "bob"]
    assert store.export_records("sft") == [{"prompt": "prompt 0", "completion": "purr"}]
    assert {r["annotator"] for r in store.export_records("jsonl")} == {"bob"}
    assert len(store.export_records("jsonl", include_disabled=True)) == 3
    store.enable_annotator("alice")
    assert len(store.judgments_for()) == 3 and store.count_disabled_judgments() == 0
