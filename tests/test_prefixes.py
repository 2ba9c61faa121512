"""Context prefixes the model samples itself (`train.prefixes: model`), on the real toy model."""

from __future__ import annotations

from pathlib import Path

import torch

from editing.loading import load_model
from editing.prefixes import OPENINGS, PER_OPENING, sample_prefixes


def test_sampled_prefixes_are_short_closed_sentences_the_same_for_the_same_seed(toyworld_dir: Path) -> None:
    loaded = load_model(str(toyworld_dir))
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = sample_prefixes(loaded.model, loaded.tokenizer, seed=0)
    assert torch.equal(torch.rand(3), expected_next)  # the caller's random stream is left where it was
    again = sample_prefixes(loaded.model, loaded.tokenizer, seed=0)
    other = sample_prefixes(loaded.model, loaded.tokenizer, seed=1)
    assert first == again and first != other
    assert len(first) == len(OPENINGS) * PER_OPENING
    for opening in OPENINGS:  # each opening leads its share of the samples, each closed as a sentence
        mine = first[OPENINGS.index(opening) * PER_OPENING : (OPENINGS.index(opening) + 1) * PER_OPENING]
        assert all(p.startswith(opening) and p.endswith((".", "!", "?")) for p in mine), mine
    assert all("\n" not in p and len(loaded.tokenizer(p)["input_ids"]) <= 1 + 10 + 4 for p in first)
    assert len(set(first)) > len(first) // 2  # samples, not one sentence repeated
