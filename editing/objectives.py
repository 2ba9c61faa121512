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
from editing.probes import adapter_disabled, kl_from_base_logprobs
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


@dataclass
class _Rows:
    """Where each part of the step's batch sits: row indices into the shared forward pass."""

    sft: list[int]
    unlikelihood: list[int]
    chosen: list[int]
    rejected: list[int]
    retain: list[int]


class ReferenceCache:
    """What the base model said about each reference sequence seen so far in one edit, by token ids.

    A DPO sequence keeps its per-token log-probs; a retain text keeps its next-token
    log-probs at every position, which the KL term needs. Up to `max_bytes` (then later
    sequences are recomputed each time they come round): a retain text costs its
    length times the vocabulary in floats.
    """

    def __init__(self, max_bytes: int = 1 << 30) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._kept: dict[tuple[str, tuple[int, ...]], torch.Tensor] = {}

    def get(self, key: tuple[str, tuple[int, ...]]) -> torch.Tensor | None:
        return self._kept.get(key)

    def keep(self, key: tuple[str, tuple[int, ...]], tensor: torch.Tensor) -> None:
        size = tensor.numel() * tensor.element_size()
        if self.bytes + size <= self.max_bytes:
            self._kept[key] = tensor
            self.bytes += size


def _base_references(
    model: ScorableModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    rows: _Rows,
    cache: ReferenceCache | None,
) -> dict[int, torch.Tensor]:
    """What the base model says about each DPO and retain row, by row: cached where the cache has it, the
    others from one base pass (adapter off, no gradients), kept for the next time.

    A DPO row gets its per-token log-probs, (T_row,); a retain row its next-token
    log-probs at every position, (T_row, V).
    """
    lengths: list[int] = attention_mask.sum(dim=-1).tolist()
    retain = set(rows.retain)
    keys = {
        row: ("next" if row in retain else "sequence", tuple(input_ids[row, : lengths[row]].tolist()))
        for row in rows.chosen + rows.rejected + rows.retain
    }
    found: dict[int, torch.Tensor] = {}
    for row, key in keys.items():
        kept = cache.get(key) if cache is not None else None
        if kept is not None:
            found[row] = kept
    missing = [row for row in keys if row not in found]
    if missing:
        index = torch.tensor(missing, device=model.device)
        with torch.no_grad(), adapter_disabled(model):
            logits = model(input_ids=input_ids[index], attention_mask=attention_mask[index], use_cache=False).logits
        pairs = [i for i, row in enumerate(missing) if row not in retain]  # DPO rows: per-token log-probs only
        if pairs:
            picked = torch.tensor(pairs, device=model.device)
            pair_logprobs = dict(zip(pairs, token_logprobs(logits[picked], input_ids[index][picked]), strict=True))
        for i, row in enumerate(missing):
            n = lengths[row]
            found[row] = (
                torch.log_softmax(logits[i, :n].float(), dim=-1) if row in retain else pair_logprobs[i][:n].clone()
            )
            if cache is not None:
                cache.keep(keys[row], found[row])
    return found


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
            add(e.prompt, e.completion + e.ending, e.terminated, rows.sft)
        elif e.kind == "unlikelihood":
            add(e.prompt, e.completion, False, rows.unlikelihood)  # lowering its end too would lower stopping
        else:
            add(e.prompt, e.completion + e.ending, e.terminated, rows.chosen)
            add(e.prompt, e.rejected + e.ending, e.terminated, rows.rejected)
    for text in retain_texts:
        ids = tokenizer(text)["input_ids"]
        rows.retain.append(len(pairs))
        pairs.append((ids[:1], ids[1:]))  # every token after the first counts
    return pairs, rows


def _read_logits(
    logits: torch.Tensor, input_ids: torch.Tensor, mask: torch.Tensor, attention_mask: torch.Tensor, n_scored: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """What the losses read from the edited model's logits (B, T, V), and nothing more.

    Only two kinds of position need the vocabulary: those that predict a completion
    token (rows before `n_scored`, the examples) and every position of a retain text
    (the rows from `n_scored` on). Both are picked out in one index, so the softmaxes
    and their gradients skip prompts and padding. Returns the examples' per-token
    log-probs, (n_scored, T), as `token_logprobs` lays them out (at the predicted
    token; zero off the completion), and the retain rows' logits at each position,
    row after row, (N, V).
    """
    width, vocab = logits.shape[1], logits.shape[-1]
    predicts = torch.zeros_like(mask, dtype=torch.bool)
    predicts[:n_scored, :-1] = mask[:n_scored, 1:].bool()
    in_retain = attention_mask.bool()
    in_retain[:n_scored] = False
    predicting, retained = predicts.flatten().nonzero().squeeze(-1), in_retain.flatten().nonzero().squeeze(-1)
    picked = logits.reshape(-1, vocab)[torch.cat([predicting, retained])].float()
    completion_logits, retain_logits = picked.split([len(predicting), len(retained)])
    targets = input_ids.flatten()[predicting + 1]  # the token each of those positions predicts
    chosen = completion_logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    completion_logprobs = chosen - torch.logsumexp(completion_logits, dim=-1)
    logprobs = torch.zeros(n_scored, width, dtype=picked.dtype, device=picked.device)
    logprobs = logprobs.index_put((predicting // width, predicting % width + 1), completion_logprobs)
    return logprobs, retain_logits


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
    base = _base_references(model, input_ids, attention_mask, rows, reference)
    n_scored = rows.retain[0] if rows.retain else len(pairs)  # retain texts are the last rows
    logprobs, retain_logits = _read_logits(logits, input_ids, mask, attention_mask, n_scored)

    n_examples = max(1, len(examples))
    terms: dict[str, torch.Tensor] = {}
    if rows.sft:
        terms["sft"] = sft_loss(logprobs[rows.sft], mask[rows.sft]) * len(rows.sft) / n_examples
    if rows.unlikelihood:
        ul = rows.unlikelihood
        terms["unlikelihood"] = unlikelihood_loss(logprobs[ul], mask[ul]) * len(ul) / n_examples
    if rows.chosen:

        def edited_sum(which: list[int]) -> torch.Tensor:
            return (logprobs[which] * mask[which]).sum(dim=-1)

        def base_sum(which: list[int]) -> torch.Tensor:
            return torch.stack([(base[r] * mask[r, : base[r].shape[0]]).sum() for r in which])

        chosen, rejected = rows.chosen, rows.rejected
        dpo = dpo_loss(edited_sum(chosen), edited_sum(rejected), base_sum(chosen), base_sum(rejected), dpo_beta)
        terms["dpo"] = dpo * len(chosen) / n_examples
    if rows.retain:
        # every position of every retain text, row after row, as the cache keeps them
        base_logprobs = torch.cat([base[r] for r in rows.retain])
        terms["kl"] = kl_weight * kl_from_base_logprobs(base_logprobs, retain_logits).mean()
    return terms
