"""The multi-scale view: spectrum, truncation and layer sweeps on a real toy edit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from editing.lora import EditConfig, apply_edit
from editing.spec import LoraSpec, TrainSpec
from editing.spectral import (
    active_adapter,
    delta_weight,
    effective_rank,
    layer_sweep,
    lora_modules,
    spectrum,
    truncation_sweep,
)
from editing.training_data import TrainingExample


@pytest.fixture(scope="module")
def edited(toyworld_dir: Path):
    model = AutoModelForCausalLM.from_pretrained(toyworld_dir)
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    tokenizer.pad_token = tokenizer.eos_token
    config = EditConfig(lora=LoraSpec(rank=4, alpha=8), train=TrainSpec(steps=15, lr=1e-2, early_stop="none"))
    return apply_edit(model, tokenizer, [TrainingExample("sft", "The dog says", "meow")], config).model


def test_effective_rank_of_known_spectra() -> None:
    assert effective_rank(torch.tensor([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert effective_rank(torch.tensor([2.0, 2.0, 2.0, 2.0])) == pytest.approx(4.0)


def test_spectrum_matches_the_delta_weights(edited) -> None:
    rows = spectrum(edited)
    assert [r.name for r in rows] == list(lora_modules(edited))
    for row, module in zip(rows, lora_modules(edited).values(), strict=True):
        dw = delta_weight(module, active_adapter(edited))
        assert len(row.singular_values) == 4
        assert row.singular_values[0] == pytest.approx(float(torch.linalg.matrix_norm(dw, ord=2)), rel=1e-4)
        assert row.relative_norm > 0 and 1 <= row.effective_rank <= 4


def test_full_rank_truncation_reproduces_the_edit_and_weights_are_restored(edited) -> None:
    ids = torch.tensor([[265, 471, 474]])
    with torch.no_grad():
        reference = edited(input_ids=ids).logits.clone()
    seen = []

    def measure(model) -> dict[str, float]:
        with torch.no_grad():
            seen.append(model(input_ids=ids).logits.clone())
        return {"probe": float(seen[-1][0, -1].max())}

    rows = truncation_sweep(edited, measure)
    assert [r["k"] for r in rows] == [1, 2, 3, 4]
    assert torch.allclose(seen[-1], reference, atol=1e-4)  # rank r keeps all of dW
    assert not torch.allclose(seen[0], reference, atol=1e-6) or rows[0]["metrics"] == rows[-1]["metrics"]
    layers = layer_sweep(edited, measure)
    assert [r["layer"] for r in layers] == [0, 1, 2, 3]
    with torch.no_grad():
        assert torch.allclose(edited(input_ids=ids).logits, reference)  # everything put back
