"""The edit spec: examples validate, mistakes name their field, docs match the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from editing.cli.docs import spec_reference_markdown
from editing.spec import SpecError, TrainSpec
from editing.spec_reader import load_spec, spec_from_dict
from editing.training import resolve_training

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("name", ["dog-cat-swap", "dog-cat-swap-bad", "capital-change"])
def test_shipped_examples_validate(name: str) -> None:
    spec = load_spec(ROOT / "examples" / f"{name}.yaml")
    assert spec.probes and spec.gates
    assert spec.train.retain == "toyworld:retain" or spec.train.kl_weight == 0
    assert spec.fluency == "toyworld:fluency"


def test_relative_feedback_file_is_taken_from_the_spec_folder() -> None:
    spec = load_spec(ROOT / "examples" / "capital-change.yaml")
    assert Path(spec.feedback.file) == ROOT / "examples" / "capital-change-feedback.jsonl"


def test_every_relative_path_in_a_spec_is_taken_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retain and fluency texts too, not only feedback and probes: `nudge apply sub/spec.yaml` from
    anywhere reads the files next to the spec; shipped and store references stay as they are."""
    folder = tmp_path / "edits"
    folder.mkdir()
    (folder / "spec.yaml").write_text(
        "name: x\n"
        "feedback: {file: data/feedback.jsonl}\n"
        "probes: [probes.jsonl, toyworld:dog-cat-swap, store:mine, /abs/suite.jsonl]\n"
        "train: {retain: retain.txt, prefixes: prefixes.txt}\n"
        "fluency: texts/fluency.txt\n"
    )
    monkeypatch.chdir(tmp_path)
    spec = load_spec("edits/spec.yaml")
    assert Path(spec.train.prefixes) == Path("edits/prefixes.txt")
    for named in ("model", "retain", "toyworld:filler"):  # what names no file stays as it is
        spec_file = folder / "named.yaml"
        spec_file.write_text(
            f"name: x\nprobes: [toyworld:dog-cat-swap]\ntrain: {{retain: r.txt, prefixes: '{named}'}}\n"
        )
        assert load_spec(spec_file).train.prefixes == named
    assert Path(spec.feedback.file) == Path("edits/data/feedback.jsonl")
    assert spec.probes == [str(Path("edits/probes.jsonl")), "toyworld:dog-cat-swap", "store:mine", "/abs/suite.jsonl"]
    assert Path(spec.train.retain) == Path("edits/retain.txt")
    assert Path(spec.fluency) == Path("edits/texts/fluency.txt")


BASE = {"name": "x", "probes": ["toyworld:dog-cat-swap"]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"probes": ["a"]}, "missing required field name"),
        ({**BASE, "lora": {"rank": "four"}}, "lora.rank must be int, got 'four'"),
        ({**BASE, "lora": {"rank": 0}}, "lora.rank must be an integer >= 1, got 0"),
        ({**BASE, "lora": {"targets": "everything"}}, "lora.targets must be mlp, attention or a list"),
        ({**BASE, "objective": "rlhf"}, "objective must be one of auto, sft, unlikelihood, dpo"),
        ({**BASE, "train": {"lr": "fast"}}, "train.lr must be float, got 'fast'"),
        ({**BASE, "train": {"stepz": 3}}, "unknown field train.stepz"),
        ({**BASE, "feedback": {"min_agreement": 2}}, "feedback.min_agreement must be between 0 and 1"),
        ({**BASE, "gates": {"edit": "about 0.9"}}, "gates.edit"),
        ({**BASE, "gates": {"vibes": ">= 0.9"}}, "gates.vibes"),
        ({**BASE, "probes": []}, "probes is empty"),
        ({**BASE, "model": "someorg/somemodel", "train": {"kl_weight": 1.0}}, "train.kl_weight > 0 needs train.retain"),
        ({**BASE, "model": "/some/folder", "train": {"kl_weight": 1.0}}, "model: no such model folder: /some/folder"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_mistakes_name_the_field(data, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec_from_dict(data)


def test_yaml_scientific_notation_and_defaults() -> None:
    spec = spec_from_dict({**BASE, "train": {"lr": "5e-3"}})
    assert spec.train.lr == 0.005
    assert spec.lora.rank == 4 and spec.train.retain == "toyworld:retain"


def test_spec_hash_is_stable_and_sensitive() -> None:
    assert spec_from_dict(BASE).spec_hash == spec_from_dict(dict(BASE)).spec_hash
    assert spec_from_dict(BASE).spec_hash != spec_from_dict({**BASE, "train": {"seed": 1}}).spec_hash


def test_reference_docs_match_the_code() -> None:
    assert (ROOT / "docs" / "spec.md").read_text() == spec_reference_markdown() + "\n", (
        "docs/spec.md is stale; run `python -m editing.cli.docs spec > docs/spec.md`"
    )


def test_answers_end_as_the_model_ends_them_unless_the_spec_says_otherwise() -> None:
    spec = spec_from_dict(BASE)
    assert spec.train.terminate == "model" and resolve_training(spec.train).terminate == "model"
    auto = spec_from_dict({**BASE, "train": {"terminate": "auto"}})  # `auto` is another name for `model`
    assert resolve_training(auto.train).terminate == "model"
    pinned = spec_from_dict({**BASE, "train": {"terminate": "none"}})
    assert resolve_training(pinned.train).terminate == "none"


def test_every_auto_is_resolved_once_for_a_base_model_or_a_stored_version() -> None:
    """early_stop, terminate, context_prefixes and prefixes: plain values for the loop, by where the edit starts."""
    base = resolve_training(TrainSpec(), shipped_prefixes="toyworld:filler")
    version = resolve_training(TrainSpec(), on_version=True, shipped_prefixes="toyworld:filler")
    assert (base.early_stop, base.terminate, base.prefixes.per_example) == ("val", "model", 0)
    assert (version.early_stop, version.prefixes.per_example, version.prefixes.source) == ("none", 1, "toyworld:filler")
    stated = resolve_training(TrainSpec(early_stop="val", context_prefixes=2, prefixes="model"), on_version=True)
    assert (stated.early_stop, stated.prefixes.per_example, stated.prefixes.source) == ("val", 2, "model")
    assert resolve_training(TrainSpec(steps=7, lr=0.5)).steps == 7
