"""Context prefixes: texts put before training prompts, and where they come from.

`train.context_prefixes: k` trains each example of a batch again behind k texts put before its
prompt, so the new answer attaches to the prompt's subject and not to the prompt being the
start of a text. The texts must state no fact of the kind being edited, or the answer attaches
to that fact instead. `train.prefixes` names them: the texts the model ships (the toy world's
`toyworld:filler`), the retain texts, a text file, or `model`: as ROME does, the model being
edited writes them, short samples from a few neutral openings ("The", "Because", ...), drawn
with top-k sampling under the run's `train.seed`, each closed with a full stop. Every model
has them, and they are in its own words.

The feature lives here: `resolve_prefixes` settles the spec's `auto`s once for the plan,
`planned_texts` and `drawn_texts` fetch the texts (a named set when the run is planned, the
model's samples when it starts), `behind_prefixes` puts them before the examples, and
`describe_prefixes` and `prefixes_record` say what was used, for the dry run and the report.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from transformers import GenerationMixin, PreTrainedModel, PreTrainedTokenizerBase

from editing.probes.scoring import decode_text
from editing.spec import AUTO_PREFIXES, MODEL_PREFIXES, RETAIN_PREFIXES, TrainSpec
from editing.training_data import TrainingExample

OPENINGS = ("The", "Therefore", "Because", "I", "You")  # ROME's
PER_OPENING = 10  # 50 prefixes: more than one edit's examples ever take in a run
PREFIX_TOKENS = 10  # new tokens per sample: a clause, short beside a prompt
TOP_K = 5


def _closed(text: str) -> str:
    """A sample as a prefix: one line, ending in sentence punctuation so the prompt starts a new sentence."""
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else f"{text}."


def sample_prefixes(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    seed: int,
    per_opening: int = PER_OPENING,
    max_new_tokens: int = PREFIX_TOKENS,
) -> list[str]:
    """`per_opening` short samples of the model from each of `OPENINGS`, the same for the same seed and model.

    The global random state is left as it was: the samples draw from a forked generator."""
    assert isinstance(model, GenerationMixin)  # load_model loads causal LMs, which all generate
    devices = [model.device.index or 0] if model.device.type == "cuda" else []
    prefixes = []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        torch.manual_seed(seed)
        for opening in OPENINGS:
            input_ids = torch.tensor([tokenizer(opening)["input_ids"]], device=model.device)
            out = model.generate(
                input_ids,
                attention_mask=torch.ones_like(input_ids),
                do_sample=True,
                top_k=TOP_K,
                max_new_tokens=max_new_tokens,
                num_return_sequences=per_opening,
                pad_token_id=tokenizer.eos_token_id,
                temperature=1.0,  # the model's own generation config may set others
                top_p=1.0,
            )
            for row in out:
                ids = [t for t in row.tolist() if t != tokenizer.eos_token_id]
                prefixes.append(_closed(decode_text(tokenizer, ids)))
    return prefixes


@dataclass(frozen=True)
class ContextPrefixes:
    """train.context_prefixes and train.prefixes with `auto` resolved."""

    per_example: int = 0  # texts put before each example of a batch, every step; 0: off
    source: str = MODEL_PREFIXES  # `model`, `retain`, or a text reference (`toyworld:filler`, a file)

    @property
    def sampled(self) -> bool:
        """The model writes the texts when the run starts."""
        return self.per_example > 0 and self.source == MODEL_PREFIXES

    @property
    def reads_retain(self) -> bool:
        """The texts are the retain texts."""
        return self.per_example > 0 and self.source == RETAIN_PREFIXES


def resolve_prefixes(train: TrainSpec, on_version: bool = False, shipped: str | None = None) -> ContextPrefixes:
    """The spec's context prefixes for an edit of a stored version (`on_version`) or of a base model whose
    shipped prefix texts are `shipped` (the toy world's filler; None for a model that ships none).

    `auto` puts one text before each example on a version, where a chain's held-out phrasings need it
    (bench/sequential-methods.md), and when the spec names its texts; none otherwise. Its texts are the
    shipped ones, else the model's own samples: a real model has no filler set, and its samples are its own words.
    """
    if train.context_prefixes == "auto":
        per_example = 1 if on_version or train.prefixes != AUTO_PREFIXES else 0
    else:
        per_example = train.context_prefixes
    source = (shipped or MODEL_PREFIXES) if train.prefixes == AUTO_PREFIXES else train.prefixes
    return ContextPrefixes(per_example, source)


def planned_texts(prefixes: ContextPrefixes, retain: list[str], load: Callable[[str], list[str]]) -> list[str]:
    """The texts known when the run is planned: the `retain` texts, or the named set `load` reads; none while
    prefixes are off, or for `model`, whose texts are drawn when the run starts (`drawn_texts`)."""
    if not prefixes.per_example or prefixes.source == MODEL_PREFIXES:
        return []
    return retain if prefixes.source == RETAIN_PREFIXES else load(prefixes.source)


def drawn_texts(
    prefixes: ContextPrefixes, planned: list[str], model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, seed: int
) -> list[str]:
    """The texts the run puts before prompts: samples of `model`, the model the run starts from, for
    `model`; the `planned` ones otherwise."""
    return sample_prefixes(model, tokenizer, seed) if prefixes.sampled else planned


def behind_prefixes(examples: list[TrainingExample], prefixes: list[str]) -> list[TrainingExample]:
    """Each example again behind each of its prefixes in turn: `prefixes[i]` goes before `examples[i % n]`."""
    return [
        dataclasses.replace(e, prompt=f"{prefix} {e.prompt}")
        for e, prefix in zip(itertools.cycle(examples), prefixes, strict=False)
    ]


def describe_prefixes(prefixes: ContextPrefixes, train: TrainSpec) -> str | None:
    """What the dry run says about the prefixes a run will put before prompts; None when they are off."""
    if not prefixes.per_example:
        return None
    texts = {
        MODEL_PREFIXES: "samples the model writes when the run starts",
        RETAIN_PREFIXES: f"the retain texts ({train.retain})",
    }
    auto = ", ".join(f"train.{k}: auto" for k in ("context_prefixes", "prefixes") if getattr(train, k) == "auto")
    return (
        f"each example again behind {prefixes.per_example} text(s): "
        f"{texts.get(prefixes.source, prefixes.source)}{f' ({auto})' if auto else ''}"
    )


def prefixes_record(prefixes: ContextPrefixes, texts: list[str], retain: str | None) -> dict[str, Any] | None:
    """The run record's account of the prefixes: where the texts came from, how many, the first few."""
    if not prefixes.per_example:
        return None
    source = f"retain ({retain})" if prefixes.source == RETAIN_PREFIXES else prefixes.source
    return {"per_example": prefixes.per_example, "texts": source, "count": len(texts), "first": texts[:3]}
