"""Which split a newly written probe lands in, decided by the app and never by its writer.

Probes are dealt out per stratum (kind, relation) in blocks: each block holds a fixed mix
of splits, most of it `test`, shuffled by a seed named after the suite, stratum and block.
So the mix holds for every kind and relation however probes trickle in, and the writer of
a probe cannot pick, or easily predict, whether it is held out.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence

# One block per kind. `train` only for edit probes (they restate what was trained on);
# `val` feeds early stopping; the rest is `test`, where gates are judged.
BLOCKS: dict[str, tuple[str, ...]] = {
    "edit": ("test", "test", "val", "train"),
    "paraphrase": ("test", "test", "test", "test", "val"),
    "leak": ("test", "test", "test", "test", "val"),
    "control": ("test", "test", "test", "val"),
}


def _block(suite: str, kind: str, relation: str, index: int) -> list[str]:
    splits = list(BLOCKS[kind])
    random.Random(f"{suite}\x1f{kind}\x1f{relation}\x1f{index}").shuffle(splits)
    return splits


def assign_splits(suite: str, existing: Iterable[tuple[str, str]], new: Sequence[tuple[str, str]]) -> list[str]:
    """Splits for `new` probes, given as (kind, relation), after the suite's `existing` ones.

    The n-th probe of a stratum always gets the same split, so the result depends only on
    the suite's name and the order probes arrived in.
    """
    unknown = sorted({kind for kind, _ in new if kind not in BLOCKS})
    if unknown:
        raise ValueError(f"unknown probe kind(s) {unknown}; use one of {', '.join(BLOCKS)}")
    seen = Counter(existing)
    splits = []
    for kind, relation in new:
        position = seen[(kind, relation)]
        seen[(kind, relation)] += 1
        size = len(BLOCKS[kind])
        splits.append(_block(suite, kind, relation, position // size)[position % size])
    return splits
