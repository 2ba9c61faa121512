"""Context prefixes the model writes itself, for `train.prefixes: model`.

`train.context_prefixes` trains each example again behind a text put before its prompt, so
the new answer attaches to the prompt's subject and not to the prompt being the start of a
text. The texts must state no fact of the kind being edited, or the answer attaches to that
fact instead, and a hand-picked set of such texts exists only for the toy world
(`toyworld:filler`). As ROME does, `model` asks the model being edited for them: short
samples from a few neutral openings ("The", "Because", ...), drawn with top-k sampling under
the run's `train.seed`, each closed with a full stop. Every model has them, and they are in
its own words.
"""

from __future__ import annotations

import torch
from transformers import GenerationMixin, PreTrainedModel, PreTrainedTokenizerBase

from editing.probes.scoring import decode_text

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
