"""`load_model`: folders, hub ids and `toyworld`; clear errors for bad references."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from transformers import ViTConfig
from typer.testing import CliRunner

from editing.cli import app
from editing.loading import ModelLoadError, load_model


def test_toyworld_by_name(toyworld_workspace: Path) -> None:
    loaded = load_model("toyworld")
    assert loaded.architecture == "GPT2LMHeadModel"
    assert loaded.device.type in {"cpu", "cuda"}
    assert loaded.tokenizer.pad_token is not None  # the toy tokenizer ships none
    assert loaded.has_chat_template is False
    assert not loaded.model.training
    assert len(loaded.fingerprint) == 64


def test_folder_and_chat_template(toyworld_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "chatty"
    shutil.copytree(toyworld_dir, folder)
    plain = load_model(str(folder))
    plain.tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    plain.tokenizer.save_pretrained(folder)
    chatty = load_model(str(folder))
    assert chatty.has_chat_template is True
    assert chatty.fingerprint != plain.fingerprint  # the tokenizer changed


def test_fingerprint_is_stable(toyworld_dir: Path) -> None:
    assert load_model(str(toyworld_dir)).fingerprint == load_model(str(toyworld_dir)).fingerprint


@pytest.mark.parametrize(
    ("make_ref", "message"),
    [
        (lambda tmp: str(tmp / "missing"), "no such model folder"),
        (lambda tmp: str(tmp), "not a Hugging Face model folder"),
        (lambda tmp: str(tmp / "weights.bin"), "is a file"),
        (lambda tmp: "someone/no-such-model", "could not fetch"),
    ],
)
def test_bad_references_explain_themselves(tmp_path: Path, make_ref, message: str) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\0")
    with pytest.raises(ModelLoadError, match=message):
        load_model(make_ref(tmp_path))


def test_not_a_causal_lm(tmp_path: Path) -> None:
    ViTConfig().save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="not a causal language model"):
        load_model(str(tmp_path))


def test_toyworld_not_built(workspace: Path) -> None:
    with pytest.raises(ModelLoadError, match="nudge toyworld build"):
        load_model("toyworld")


@pytest.mark.parametrize("ref", ["./no/such/folder", "someone/no-such-model", "toyworld"])
def test_cli_prints_one_clear_line(workspace: Path, ref: str) -> None:
    result = CliRunner().invoke(app, ["model", "info", ref])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output


def test_cli_model_info(toyworld_workspace: Path) -> None:
    result = CliRunner().invoke(app, ["model", "info", "toyworld"])
    assert result.exit_code == 0, result.output
    assert "GPT2LMHeadModel" in result.output
    assert "chat template: no" in result.output
