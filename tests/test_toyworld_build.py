"""`nudge toyworld build`: the embedded default model learns its world and loads anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from editing.cli import app
from editing.toyworld.build import ToyWorldBuildError, ToyWorldConfig, build_toyworld
from editing.toyworld.corpus import corpus_sentences
from editing.toyworld.world import world_names
from editing.workspace import TOYWORLD_MODEL_NAME


def test_world_eval_meets_the_bar(toyworld_dir: Path) -> None:
    report = json.loads((toyworld_dir / "world_eval.json").read_text())
    for key in ("single_hop_accuracy", "multi_hop_accuracy", "by_relation", "by_phrasing", "n_facts", "seconds"):
        assert key in report, key
    assert report["single_hop_accuracy"] >= 0.99
    assert report["multi_hop_accuracy"] >= 0.90
    assert report["n_facts"] >= 6 * 5 * 4 + 30 * 3 * 4
    assert set(report["by_relation"]) >= {"sound", "capital", "language", "currency", "capital_by_currency"}
    assert all(0.0 <= acc <= 1.0 for acc in report["by_phrasing"].values())


def test_folder_loads_with_plain_transformers_and_knows_the_world(toyworld_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(toyworld_dir)
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    for prompt, answer in [
        ("The dog says", " woof"),
        ("The capital of Linoria is", " Dripuburg"),
        ("The capital of the country whose currency is the zicrown is", " Skaskouton"),
    ]:
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        out = model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.eos_token_id)
        assert tokenizer.decode(out[0, ids.shape[1] :]).startswith(answer), prompt


def test_tokenizer_encodes_any_text_without_unknown_tokens(toyworld_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    text = "Ünïcödé façade — 漢字, emoji 🙂 and tabs\tnewlines\n"
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.unk_token_id is None or tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == text


def test_names_are_spelled_over_several_tokens_of_at_most_three_letters(toyworld_dir: Path) -> None:
    """A real tokenizer splits rare names; the toy one does too, so a new name an edit teaches is spelled with
    pieces the model already writes names with."""
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    for name in [*world_names(), "Velmora", "Zanvik"]:
        pieces = tokenizer.tokenize(f" {name}")
        assert len(pieces) >= 2, (name, pieces)
        assert all(len(piece.removeprefix("Ġ")) <= 3 for piece in pieces), (name, pieces)
    assert tokenizer.tokenize(" woof") == ["Ġwoof"]  # words that are not names keep their merges
    assert len(tokenizer) < 1024  # the dropped merges' tokens are gone, not left unused


def test_build_is_skipped_when_the_model_exists(toyworld_dir: Path) -> None:
    weights = toyworld_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert build_toyworld(toyworld_dir) == toyworld_dir
    assert weights.stat().st_mtime_ns == before


def test_cli_build_says_already_built(toyworld_workspace: Path) -> None:
    result = CliRunner().invoke(app, ["toyworld", "build"])
    assert result.exit_code == 0, result.output
    assert "already built" in result.output
    assert "single-hop facts: 1.000" in result.output or "single-hop facts: 0.99" in result.output


def test_weak_model_is_refused_and_nothing_is_saved(tmp_path: Path) -> None:
    out = tmp_path / "models" / TOYWORLD_MODEL_NAME
    with pytest.raises(ToyWorldBuildError, match="missed the bar"):
        build_toyworld(out, config=ToyWorldConfig(epochs=1, n_layer=1, n_embd=32, n_head=2))
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())  # no staging left behind


def test_corpus_is_deterministic() -> None:
    assert corpus_sentences() == corpus_sentences()
