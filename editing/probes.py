"""Teacher-forced scoring of completions, batched: the measuring stick of every probe."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class CompletionScore:
    """How a model scores `completion` after `prompt` under teacher forcing."""

    mean_logprob: float  # mean over the completion's tokens: comparable across lengths
    sum_logprob: float
    n_tokens: int
    greedy_match: bool  # every completion token is the model's top-1 choice at its position


def join_completion(completion: str) -> str:
    """Completions follow their prompt after one space, unless they bring their own."""
    return completion if completion[:1].isspace() else " " + completion


def encode_pair(
    tokenizer: PreTrainedTokenizerBase, prompt: str, completion: str
) -> tuple[list[int], list[int]]:
    """Token ids of the prompt (with the tokenizer's usual special tokens) and the completion."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    completion_ids = tokenizer(join_completion(completion), add_special_tokens=False)["input_ids"]
    if not completion_ids:
        raise ValueError(f"completion {completion!r} encodes to no tokens; give a non-empty text")
    return prompt_ids, completion_ids


@torch.inference_mode()
def score_completions(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    completions: list[str],
    batch_size: int = 64,
) -> list[CompletionScore]:
    """Score each (prompt, completion) pair in right-padded batches sorted by length."""
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions; pass one each")
    pairs = [encode_pair(tokenizer, p, c) for p, c in zip(prompts, completions, strict=True)]
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = model.device
    scores: dict[int, CompletionScore] = {}
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(pairs[i][0]) + len(pairs[i][1]) for i in rows)
        input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            ids = pairs[i][0] + pairs[i][1]
            input_ids[r, : len(ids)] = torch.tensor(ids)
            attention_mask[r, : len(ids)] = 1
        logits = model(
            input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)
        ).logits.float()
        logprobs = torch.log_softmax(logits, dim=-1)  # (B, T, V)
        for r, i in enumerate(rows):
            prompt_ids, completion_ids = pairs[i]
            # the token at position t is predicted by the logits at t - 1
            positions = torch.arange(len(prompt_ids) - 1, len(prompt_ids) + len(completion_ids) - 1)
            targets = torch.tensor(completion_ids, device=logprobs.device)
            token_logprobs = logprobs[r, positions.to(logprobs.device), targets]
            top1 = logits[r, positions.to(logits.device)].argmax(dim=-1)
            scores[i] = CompletionScore(
                mean_logprob=token_logprobs.mean().item(),
                sum_logprob=token_logprobs.sum().item(),
                n_tokens=len(completion_ids),
                greedy_match=bool((top1 == targets).all()),
            )
    return [scores[i] for i in range(len(pairs))]


PROBE_KINDS = ("edit", "paraphrase", "leak", "control")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Probe:
    """A prompt, the completion that must win (`target`) and the one that must lose (`foil`)."""

    id: str
    prompt: str
    target: str
    foil: str
    kind: str  # one of PROBE_KINDS
    split: str  # one of SPLITS; gates are judged on "test" only
    relation: str = ""
    subject: str = ""


@dataclass(frozen=True)
class ProbeScore:
    """One probe scored in one phase (before or after the edit)."""

    probe: Probe
    target_logprob: float  # mean token log-prob of the target, teacher-forced
    foil_logprob: float
    continuation: str  # greedy continuation of the prompt, a few tokens

    @property
    def margin(self) -> float:
        return self.target_logprob - self.foil_logprob

    @property
    def success(self) -> bool:
        return self.margin > 0
