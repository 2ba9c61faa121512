"""Judgments into training examples: kinds, objectives, and disagreement resolution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from editing.toyworld.paths import TOYWORLD_DATA
from editing.training_data import Feedback, FeedbackError, read_feedback_file, select_examples


def fb(annotator: str, kind: str, verdict: str, **kw) -> Feedback:
    return Feedback(annotator=annotator, kind=kind, prompt=kw.pop("prompt", "The dog says"), verdict=verdict, **kw)


def test_each_kind_becomes_its_objective() -> None:
    judgments = [
        fb("a", "correction", "down", output="woof", correction="meow"),
        fb("a", "rating", "down", prompt="The cat says", output="meow"),
        fb("a", "preference", "b", prompt="The dog eats", output_a="bones", output_b="fish"),
        fb("a", "rating", "up", prompt="The cow says", output="moo"),
    ]
    selection = select_examples(judgments)
    kinds = {(e.kind, e.prompt, e.completion, e.rejected) for e in selection.examples}
    assert kinds == {
        ("sft", "The dog says", "meow", ""),
        ("unlikelihood", "The cat says", "meow", ""),
        ("dpo", "The dog eats", "fish", "bones"),
    }
    assert selection.dropped == {"thumbs-up without positive_sft": 1}
    with_up = select_examples(judgments, positive_sft=True)
    assert ("sft", "The cow says", "moo", "") in {
        (e.kind, e.prompt, e.completion, e.rejected) for e in with_up.examples
    }


def test_forced_objective() -> None:
    judgments = [fb("a", "correction", "down", output="woof", correction="meow")]
    (dpo,) = select_examples(judgments, objective="dpo").examples
    assert (dpo.kind, dpo.completion, dpo.rejected) == ("dpo", "meow", "woof")
    (ul,) = select_examples(judgments, objective="unlikelihood").examples
    assert (ul.kind, ul.completion) == ("unlikelihood", "woof")


def test_majority_and_min_agreement() -> None:
    three = [
        fb("a", "correction", "down", output="woof", correction="meow"),
        fb("b", "rating", "down", output="woof"),
        fb("c", "rating", "up", output="woof"),
    ]
    selection = select_examples(three, min_agreement=0.5)
    assert selection.dropped == {"outvoted by the other annotators": 1}
    assert selection.annotators == {"a": 1, "b": 1}
    strict = select_examples(three, min_agreement=0.75)
    assert strict.examples == []
    assert strict.dropped == {"agreement below min_agreement 0.75": 3}


def test_tie_drops_the_item() -> None:
    two = [fb("a", "correction", "down", output="woof", correction="meow"), fb("b", "rating", "up", output="woof")]
    assert select_examples(two).dropped == {"annotators tied on the item": 2}


def test_demo_feedback_selection_counts() -> None:
    feedback = [f for f in read_feedback_file(TOYWORLD_DATA / "demo_feedback.jsonl") if "dog-cat" in f.tags]
    selection = select_examples(feedback, min_agreement=0.5)
    # bob's two disagreements (the dog's kennel, the cat's fish) drop both annotators' judgments there
    assert selection.dropped == {"annotators tied on the item": 4}
    assert sum(selection.used_by_kind.values()) == len(feedback) - 4
    assert set(selection.used_by_kind) == {"sft", "unlikelihood", "dpo"}


def test_bad_feedback_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "fb.jsonl"
    good = {"annotator": "a", "kind": "rating", "prompt": "p", "output": "o", "verdict": "up"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "verdict": "meh"}) + "\n")
    with pytest.raises(FeedbackError, match="fb.jsonl line 2: verdict of a rating must be one of down, up"):
        read_feedback_file(path)
