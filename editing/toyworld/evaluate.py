"""How well a model knows the toy world: top-1 accuracy on every fact."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from editing.probes import score_completions
from editing.toyworld.world import Fact, multi_hop_facts, single_hop_facts


def _accuracy(hits: list[bool]) -> float:
    return round(sum(hits) / len(hits), 4) if hits else 0.0


def evaluate_world(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """Top-1 accuracy (greedy completion equals the answer) overall, per relation and phrasing.

    A fact counts as known when every token of its answer is the model's top
    choice given the prompt and the answer's earlier tokens, i.e. greedy
    decoding writes the answer.
    """
    facts: list[Fact] = single_hop_facts() + multi_hop_facts()
    scores = score_completions(model, tokenizer, [f.prompt for f in facts], [f.answer for f in facts])
    by_relation: dict[str, list[bool]] = defaultdict(list)
    by_phrasing: dict[str, list[bool]] = defaultdict(list)
    single: list[bool] = []
    multi: list[bool] = []
    misses: list[dict[str, str]] = []
    for fact, score in zip(facts, scores, strict=True):
        hit = score.greedy_match
        (multi if fact.hops == 2 else single).append(hit)
        by_relation[fact.relation].append(hit)
        by_phrasing[f"{fact.relation}/{fact.phrasing}"].append(hit)
        if not hit:
            misses.append({"prompt": fact.prompt, "answer": fact.answer})
    return {
        "single_hop_accuracy": _accuracy(single),
        "multi_hop_accuracy": _accuracy(multi),
        "n_facts": len(single),
        "n_multi_hop": len(multi),
        "by_relation": {k: _accuracy(v) for k, v in sorted(by_relation.items())},
        "by_phrasing": {k: _accuracy(v) for k, v in sorted(by_phrasing.items())},
        "misses": misses,
    }
