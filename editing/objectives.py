"""Training objectives: SFT, unlikelihood, DPO, and KL to the base model.

One training step runs at most two forward passes whatever the mix of examples:
one of the edited model (with gradients) over every sequence in the batch, and
one of the base model (the same model with its adapter switched off, no
gradients) over the sequences that need a reference and that it has not seen
yet: DPO's pairs and the retain texts. The base model does not change while an
adapter trains, so its outputs on a sequence are kept (`ReferenceCache`) and
reused when the sequence comes round again. The loss functions below then read
their rows out of those passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from editing.models import ScorableModel
from editing.probes import adapter_disabled, kl_per_position
from editing.tokens import collate_pairs, encode_training_pair, format_prompt, pad_id_of, token_logprobs
from editing.training_data import TrainingExample


def sft_loss(logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of the completion tokens (mask 1), the prompt excluded."""
    return -(logprobs * mask).sum() / mask.sum()


def unlikelihood_loss(logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Push rejected tokens down: mean of -log(1 - p(token)) (Welleck et al., 2019)."""
    # clamped so that p -> 1 gives a large but finite loss
    log_one_minus_p = torch.log1p(-logprobs.exp().clamp(max=1 - 1e-6))
    return -(log_one_minus_p * mask).sum() / mask.sum()


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """DPO (Rafailov et al., 2023) on sequence log-probs, each (B,)."""
    margin = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected)
    return -torch.nn.functional.logsigmoid(beta * margin).mean()


class ReferenceCache:
    """The base model's logits on each reference sequence seen so far in one edit, by token ids.

    Up to `max_bytes` (then later sequences are recomputed each time they come
    round): a retain text costs its length times the vocabulary in floats.
    """

    def __init__(self, max_bytes: int = 1 << 30) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._logits: dict[tuple[int, ...], torch.Tensor] = {}

    def get(self, ids: tuple[int, ...]) -> torch.Tensor | None:
        return self._logits.get(ids)

    def keep(self, ids: tuple[int, ...], logits: torch.Tensor) -> None:
        size = logits.numel() * logits.element_size()
        if self.bytes + size <= self.max_bytes:
            self._logits[ids] = logits
            self.bytes += size


def _reference_logits(
    model: ScorableModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    reference_rows: list[int],
    cache: ReferenceCache | None,
) -> torch.Tensor:
    """The base model's logits for `reference_rows` of the batch, (R, T, V), right-padded with zeros.

    Rows the cache holds are read from it; the others run through the base model
    in one pass (adapter off, no gradients) and are kept for the next time.
    """
    lengths: list[int] = attention_mask.sum(dim=-1).tolist()
    keys: dict[int, tuple[int, ...]] = {row: tuple(input_ids[row, : lengths[row]].tolist()) for row in reference_rows}
    found: dict[int, torch.Tensor] = {}
    for row in reference_rows:
        kept = cache.get(keys[row]) if cache is not None else None
        if kept is not None:
            found[row] = kept
    missing = [row for row in reference_rows if row not in found]
    if missing:
        with torch.no_grad(), adapter_disabled(model):
            index = torch.tensor(missing, device=model.device)
            fresh = model(input_ids=input_ids[index], attention_mask=attention_mask[index], use_cache=False).logits
        for i, row in enumerate(missing):
            found[row] = fresh[i, : lengths[row]]
            if cache is not None:
                cache.keep(keys[row], found[row])
    first = found[reference_rows[0]]
    out = first.new_zeros(len(reference_rows), input_ids.shape[1], first.shape[-1])
    for i, row in enumerate(reference_rows):
        logits = found[row]
        out[i, : logits.shape[0]] = logits
    return out


@dataclass
class _Rows:
    """Where each part of the step's batch sits: row indices into the shared forward pass."""

    sft: list[int]
    unlikelihood: list[int]
    chosen: list[int]
    rejected: list[int]
    retain: list[int]


def _encode_step(
    tokenizer: PreTrainedTokenizerBase, examples: list[TrainingExample], retain_texts: Sequence[str], chat: bool
) -> tuple[list[tuple[list[int], list[int]]], _Rows]:
    pairs: list[tuple[list[int], list[int]]] = []
    rows = _Rows([], [], [], [], [])

    def add(prompt: str, completion: str, terminated: bool, where: list[int]) -> None:
        where.append(len(pairs))
        pairs.append(encode_training_pair(tokenizer, format_prompt(tokenizer, prompt, chat), completion, terminated))

    for e in examples:
        if e.kind == "sft":
            add(e.prompt, e.completion, e.terminated, rows.sft)
        elif e.kind == "unlikelihood":
            add(e.prompt, e.completion, False, rows.unlikelihood)  # lowering its end too would lower stopping
        else:
            add(e.prompt, e.completion, e.terminated, rows.chosen)
            add(e.prompt, e.rejected, e.terminated, rows.rejected)
    for text in retain_texts:
        ids = tokenizer(text)["input_ids"]
        rows.retain.append(len(pairs))
        pairs.append((ids[:1], ids[1:]))  # every token after the first counts
    return pairs, rows


def step_losses(
    model: ScorableModel,
    tokenizer: PreTrainedTokenizerBase,
    examples: list[TrainingExample],
    retain_texts: Sequence[str] = (),
    kl_weight: float = 0.0,
    dpo_beta: float = 0.1,
    chat: bool = False,
    reference: ReferenceCache | None = None,
) -> dict[str, torch.Tensor]:
    """The loss terms of one step: `sft`, `unlikelihood`, `dpo` (each weighted by its share
    of the examples) and `kl` (times `kl_weight`); only the terms the batch has. `reference`
    keeps the base model's outputs between steps of one edit."""
    pairs, rows = _encode_step(tokenizer, examples, retain_texts if kl_weight > 0 else [], chat)
    input_ids, attention_mask, completion_mask = collate_pairs(pairs, pad_id_of(tokenizer))
    input_ids, attention_mask = input_ids.to(model.device), attention_mask.to(model.device)
    mask = completion_mask.to(model.device).float()
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits  # (B, T, V)
    logprobs = token_logprobs(logits, input_ids)

    reference_rows = rows.chosen + rows.rejected + rows.retain
    if reference_rows:
        index = torch.tensor(reference_rows, device=model.device)
        base_logits = _reference_logits(model, input_ids, attention_mask, reference_rows, reference)
        base_row = {row: i for i, row in enumerate(reference_rows)}

    n_examples = max(1, len(examples))
    terms: dict[str, torch.Tensor] = {}
    if rows.sft:
        terms["sft"] = sft_loss(logprobs[rows.sft], mask[rows.sft]) * len(rows.sft) / n_examples
    if rows.unlikelihood:
        ul = rows.unlikelihood
        terms["unlikelihood"] = unlikelihood_loss(logprobs[ul], mask[ul]) * len(ul) / n_examples
    if rows.chosen:
        base_logprobs = token_logprobs(base_logits, input_ids[index])

        def sequence(source: torch.Tensor, which: list[int], offset: dict[int, int] | None = None) -> torch.Tensor:
            picked = [offset[r] for r in which] if offset else which
            return (source[picked] * mask[which]).sum(dim=-1)

        terms["dpo"] = (
            dpo_loss(
                sequence(logprobs, rows.chosen),
                sequence(logprobs, rows.rejected),
                sequence(base_logprobs, rows.chosen, base_row),
                sequence(base_logprobs, rows.rejected, base_row),
                dpo_beta,
            )
            * len(rows.chosen)
            / n_examples
        )
    if rows.retain:
        # retain texts are the last rows of both passes: slices, not copies, of the logits
        first, n_retain = rows.retain[0], len(rows.retain)
        kl = kl_per_position(base_logits[-n_retain:], logits[first : first + n_retain])
        kept = attention_mask[first : first + n_retain].float()
        terms["kl"] = kl_weight * (kl * kept).sum() / kept.sum()
    return terms
