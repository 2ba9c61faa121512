"""`nudge export --format sft|dpo` writes what `nudge apply` trains on, as text TRL turns into nudge's tokens.

TRL concatenates prompt and completion strings; nudge joins them with a space. The export
carries that space, so TRL trains on exactly the tokens nudge trains on; checked here with
TRL's own tokenisation, and by training TRL's SFT and DPO trainers for 3 steps on the files.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from editing.cli import app
from editing.export import training_records
from editing.tokens import encode_pair
from store import Store
from tests.conftest import demo_workspace

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory):
    """A workspace holding the toy world's prompts and demo feedback (with its disagreements)."""
    with demo_workspace(tmp_path_factory.mktemp("export-home")) as home:
        yield home


def export(folder: Path, fmt: str, *options: str) -> tuple[list[dict[str, str]], str]:
    """The exported records, and what the command said."""
    path = folder / f"{fmt}{'-'.join(options)}.jsonl"
    result = runner.invoke(app, ["export", "--format", fmt, "--out", str(path), *options])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in path.read_text().splitlines()], result.output


def answers_per_prompt(records: list[dict[str, str]], *fields: str) -> dict[str, set[tuple[str, ...]]]:
    found: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for record in records:
        found[record["prompt"]].add(tuple(record[f] for f in fields))
    return found


def test_training_exports_resolve_disagreements_as_apply_does(demo_store, tmp_path: Path) -> None:
    sft, said = export(tmp_path, "sft")
    raw_sft, _ = export(tmp_path, "sft", "--all")
    assert "annotators tied on the item" in said
    # the raw dump teaches both sides of a disagreement for one prompt; the training export does not
    assert any(len(answers) > 1 for answers in answers_per_prompt(raw_sft, "completion").values())
    assert all(len(answers) == 1 for answers in answers_per_prompt(sft, "completion").values())
    dpo, _ = export(tmp_path, "dpo")
    pairs = {(r["prompt"], r["chosen"], r["rejected"]) for r in dpo}
    assert not [p for p in pairs if (p[0], p[2], p[1]) in pairs]  # never both a > b and b > a
    assert sft and dpo
    assert all(r["completion"].startswith(" ") for r in sft)
    assert all(r["chosen"].startswith(" ") and r["rejected"].startswith(" ") for r in dpo)


def test_disabled_accounts_are_left_out_of_training_exports(demo_store, tmp_path: Path) -> None:
    everyone, _ = export(tmp_path, "sft")
    with Store.open() as store:
        store.disable_annotator("alice")
    try:
        without_alice, said = export(tmp_path, "sft")
        assert "by disabled accounts" in said
        assert len(without_alice) < len(everyone)
    finally:
        with Store.open() as store:
            store.enable_annotator("alice")


def trl_or_skip():
    """TRL, which CI always has; a local run without it skips with the reason."""
    try:
        import trl
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("trl is not installed here: pip install 'trl==1.16.*' (the dev extra has it)")
    return trl


def test_trl_trains_on_nudges_tokens_from_exported_files(demo_store, toyworld_dir: Path, tmp_path: Path) -> None:
    trl = trl_or_skip()
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    model = AutoModelForCausalLM.from_pretrained(toyworld_dir)
    export(tmp_path, "sft")
    export(tmp_path, "dpo")
    with Store.open() as store:
        nudge_sft, nudge_dpo = (training_records(store, fmt).selection.examples for fmt in ("sft", "dpo"))
    eos = [tokenizer.eos_token_id]
    quiet = {"report_to": "none", "use_cpu": True, "save_strategy": "no", "max_steps": 3}

    sft_trainer = trl.SFTTrainer(
        model=model,
        args=trl.SFTConfig(output_dir=str(tmp_path / "sft"), per_device_train_batch_size=4, **quiet),
        train_dataset=load_dataset("json", data_files=str(tmp_path / "sft.jsonl"), split="train"),
        processing_class=tokenizer,
    )
    sft_rows = [e for e in nudge_sft if e.kind == "sft"]
    assert len(sft_trainer.train_dataset) == len(sft_rows)
    for row, example in zip(sft_trainer.train_dataset, sft_rows, strict=True):
        prompt_ids, completion_ids = encode_pair(tokenizer, example.prompt, example.completion)
        assert row["input_ids"] == prompt_ids + completion_ids + eos, example
        assert [t for t in row["labels"] if t != -100] == completion_ids + eos, example  # the tokens it learns
    sft_result = sft_trainer.train()
    assert sft_trainer.state.global_step == 3 and math.isfinite(sft_result.training_loss)

    dpo_trainer = trl.DPOTrainer(
        model=model,
        args=trl.DPOConfig(output_dir=str(tmp_path / "dpo"), per_device_train_batch_size=4, **quiet),
        train_dataset=load_dataset("json", data_files=str(tmp_path / "dpo.jsonl"), split="train"),
        processing_class=tokenizer,
    )
    dpo_rows = [e for e in nudge_dpo if e.kind == "dpo"]
    assert len(dpo_trainer.train_dataset) == len(dpo_rows)
    for row, example in zip(dpo_trainer.train_dataset, dpo_rows, strict=True):
        prompt_ids, chosen_ids = encode_pair(tokenizer, example.prompt, example.completion)
        _, rejected_ids = encode_pair(tokenizer, example.prompt, example.rejected)
        assert row["prompt_ids"] + row["chosen_ids"] == prompt_ids + chosen_ids + eos, example
        assert row["prompt_ids"] + row["rejected_ids"] == prompt_ids + rejected_ids + eos, example
    dpo_result = dpo_trainer.train()
    assert dpo_trainer.state.global_step == 3 and math.isfinite(dpo_result.training_loss)
