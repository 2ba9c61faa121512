"""`nudge apply --dry-run` refuses what cannot run, in one line, before any row is written.

Absurd numbers, a layer or module the model lacks, a rank wider than the model, a text
longer than its context, a model that is not there; and a disabled account's judgments
stay out of training unless the spec asks for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from editing.cli import app
from editing.runs import RunInputError, plan_run
from editing.spec_reader import load_spec
from editing.toyworld.paths import EXAMPLES
from editing.toyworld.world import filler_sentences
from store import Store
from tests.conftest import demo_workspace

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory, toyworld_dir: Path):
    """A workspace with the toy model and the demo feedback, nothing applied."""
    with demo_workspace(tmp_path_factory.mktemp("plan-home"), toyworld_dir) as home:
        yield home


def write_spec(folder: Path, **changes) -> Path:
    spec = yaml.safe_load((EXAMPLES / "dog-cat-swap.yaml").read_text())
    for key, value in changes.items():
        spec[key] = {**spec[key], **value} if isinstance(value, dict) and isinstance(spec.get(key), dict) else value
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def dry_run(spec: Path):
    return runner.invoke(app, ["apply", str(spec), "--dry-run"])


def rows(home: Path) -> tuple[int, int]:
    """(runs, model versions) in the workspace's store."""
    with Store.open() as store:
        return len(store.runs()), len(store.model_versions())


LONG = " ".join(["the dog walks to the park and then"] * 12)  # about 100 tokens; the toy model reads 64


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"train": {"lr": float("inf")}}, "train.lr must be a finite number"),
        ({"train": {"lr": 1e300}}, "train.lr must be > 0 and at most"),
        ({"lora": {"alpha": float("inf")}}, "lora.alpha must be a finite number"),
        ({"lora": {"rank": 100_000_000}}, "lora.rank must be at most"),
        ({"lora": {"rank": 1000}}, "lora.rank 1000 is wider than module transformer.h.0.mlp.c_fc (128)"),
        ({"lora": {"layers": [-1, 999]}}, "lora.layers are counted from 0, got -1"),
        ({"lora": {"layers": [0, 999]}}, "the model has no layer 999; it has layers 0-3"),
        ({"lora": {"targets": ["q_proj"]}}, "no linear module named 'q_proj'"),
        ({"train": {"max_grad_norm": -1.0}}, "train.max_grad_norm must be > 0"),
        ({"train": {"dpo_beta": -0.1}}, "train.dpo_beta must be > 0"),
        ({"train": {"steps": "1e14"}}, "train.steps must be int"),
        ({"train": {"steps": 10**14}}, "train.steps must be at most"),
        ({"model": "/no/such/model"}, "model: no such model folder: /no/such/model"),
    ],
)
def test_absurd_specs_are_refused_before_anything_is_written(demo_store, tmp_path: Path, changes, message) -> None:
    before = rows(demo_store)
    result = dry_run(write_spec(tmp_path, **changes))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert rows(demo_store) == before


def test_a_missing_model_is_named_first_and_leaves_no_rows(demo_store, tmp_path: Path) -> None:
    """Not a run: a spec for a missing model is refused for the model, before `kl_weight`/`retain`."""
    before = rows(demo_store)
    spec = write_spec(tmp_path, model=str(tmp_path / "gone"), train={"retain": None})
    result = runner.invoke(app, ["apply", str(spec)])
    assert result.exit_code == 2, result.output
    assert f"model: no such model folder: {tmp_path / 'gone'}" in " ".join(result.output.split())
    assert rows(demo_store) == before


def test_a_probe_longer_than_the_context_is_named(demo_store, tmp_path: Path) -> None:
    suite = tmp_path / "long.jsonl"
    probe = {"id": "too-long", "prompt": LONG, "target": "meow", "foil": "woof", "kind": "edit", "split": "test"}
    suite.write_text(json.dumps(probe) + "\n")
    result = dry_run(write_spec(tmp_path, probes=[str(suite)]))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "probe 'too-long' needs" in text and "the model reads at most 64" in text and "shorten it" in text


def test_a_training_example_longer_than_the_context_is_named(demo_store, tmp_path: Path) -> None:
    feedback = tmp_path / "long.jsonl"
    line = {"annotator": "alice", "kind": "correction", "prompt": LONG, "output": "woof", "correction": "meow"}
    feedback.write_text(json.dumps(line | {"verdict": "down"}) + "\n")
    result = dry_run(write_spec(tmp_path, feedback={"file": str(feedback), "tags": []}))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "training example from" in text and "the model reads at most 64" in text


def test_a_disabled_annotator_does_not_train_unless_the_spec_asks(demo_store, tmp_path: Path) -> None:
    with Store.open() as store:
        store.disable_annotator("alice")
    try:
        default = dry_run(write_spec(tmp_path))
        assert default.exit_code == 0, default.output
        text = " ".join(default.output.split())
        assert "'alice'" not in text.split("annotators used:")[1].split("dropped:")[0]
        assert "judgment(s) by disabled accounts" in text and "include_disabled: true" in text
        included = dry_run(write_spec(tmp_path, feedback={"include_disabled": True}))
        assert included.exit_code == 0, included.output
        assert "'alice': 10" in included.output and "disabled accounts" not in included.output
    finally:
        with Store.open() as store:
            store.enable_annotator("alice")


def test_context_prefixes_read_the_retain_texts_even_without_a_kl_term(demo_store, tmp_path: Path) -> None:
    train = {"kl_weight": 0.0, "retain": "toyworld:retain"}
    with Store.open() as store:
        without = plan_run(load_spec(write_spec(tmp_path, train=train)), store)
        prefixed = plan_run(
            load_spec(write_spec(tmp_path, train={**train, "context_prefixes": 1, "prefixes": "retain"})), store
        )
    assert without.retain_texts == []  # no KL term, no prefixes: nothing reads them
    assert prefixed.retain_texts and all(isinstance(t, str) and t for t in prefixed.retain_texts)


def test_train_prefixes_put_their_own_texts_before_the_prompts(demo_store, tmp_path: Path) -> None:
    train = {"kl_weight": 1.0, "retain": "toyworld:retain", "context_prefixes": 1}
    with Store.open() as store:
        from_retain = plan_run(load_spec(write_spec(tmp_path, train={**train, "prefixes": "retain"})), store)
        filler = plan_run(load_spec(write_spec(tmp_path, train={**train, "prefixes": "toyworld:filler"})), store)
    assert from_retain.prefix_texts == from_retain.retain_texts
    assert filler.retain_texts == from_retain.retain_texts  # the KL term still reads the retain set
    assert filler.prefix_texts == filler_sentences() and "The old man" in filler.prefix_texts[0]
    assert not any("capital" in t for t in filler.prefix_texts)  # the filler states no fact


def test_a_prefix_text_too_long_for_the_context_is_refused_before_the_run(demo_store, tmp_path: Path) -> None:
    long = tmp_path / "long.txt"
    long.write_text("the red door " * 30 + "\n")  # 64 positions in the toy model
    spec = write_spec(tmp_path, train={"retain": "toyworld:retain", "context_prefixes": 1, "prefixes": str(long)})
    with Store.open() as store, pytest.raises(RunInputError, match=r"longest prefix text .* use shorter prefix texts"):
        plan_run(load_spec(spec), store)


def test_examples_too_long_to_sit_behind_a_sampled_prefix_are_refused_before_the_run(
    demo_store, tmp_path: Path
) -> None:
    """`train.prefixes: model` samples its prefixes only when the run starts, so the plan keeps room for the
    longest one a sample can be; an example that fits alone but not behind it is refused by name."""
    long_prompt = "The capital of " + "Koudeland and " * 5 + "Koudeland is"  # with its answer 55 tokens of 64
    feedback = tmp_path / "long.jsonl"
    row = {"annotator": "alice", "kind": "correction", "prompt": long_prompt, "verdict": "down"}
    row |= {"output": " Gaiskaport.", "correction": " Velmora."}
    feedback.write_text(json.dumps(row) + "\n")
    sampled = {"retain": "toyworld:retain", "context_prefixes": 1, "prefixes": "model"}
    with Store.open() as store:
        alone = plan_run(load_spec(write_spec(tmp_path, feedback={"file": str(feedback), "tags": []})), store)
        assert alone.selection.examples
        with pytest.raises(
            RunInputError,
            match=r"model puts up to 14 sampled tokens .* needs 6[89] tokens \(14 of them for the context prefix",
        ):
            plan_run(
                load_spec(write_spec(tmp_path, feedback={"file": str(feedback), "tags": []}, train=sampled)), store
            )
    shown = dry_run(write_spec(tmp_path, train=sampled))  # the demo feedback fits behind a sampled prefix
    assert shown.exit_code == 0, shown.output
    said = " ".join(shown.output.split())
    assert "each example again behind 1 text(s): samples the model writes when the run starts" in said
