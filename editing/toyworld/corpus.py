"""The training corpus of the toy model: every fact in every phrasing, plus filler."""

from __future__ import annotations

import random

from editing.toyworld.world import filler_sentences, multi_hop_facts, single_hop_facts

# The reverse relation (sound -> animal) has 8 subjects, against 32 for each
# country relation; stating it this many times lets the model learn it as well.
REVERSE_REPEATS = 3


def corpus_sentences() -> list[str]:
    """All sentences the toy model is trained on, in a fixed order."""
    sentences = []
    for fact in single_hop_facts() + multi_hop_facts():
        repeats = REVERSE_REPEATS if fact.relation == "animal_by_sound" else 1
        sentences += [fact.sentence] * repeats
    return sentences + filler_sentences()


def shuffled(sentences: list[str], seed: int) -> list[str]:
    """A seeded shuffle that leaves the input alone."""
    order = list(sentences)
    random.Random(seed).shuffle(order)
    return order
