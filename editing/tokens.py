"""Prompt + completion text into model-ready batches, and log-probs back out of logits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from editing.completions import join_completion
from editing.errors import BadInput


def format_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str, chat: bool = False) -> str:
    """The prompt as the model sees it: wrapped in the chat template when `chat` is set."""
    if not chat:
        return prompt
    if not getattr(tokenizer, "chat_template", None):
        raise BadInput("chat: true, but this tokenizer has no chat template; set chat: false")
    messages = [{"role": "user", "content": prompt}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert isinstance(text, str)  # tokenize=False gives the text, not ids
    return text


def encode_pair(tokenizer: PreTrainedTokenizerBase, prompt: str, completion: str) -> tuple[list[int], list[int]]:
    """Token ids of the prompt (with the tokenizer's usual special tokens) and of the completion."""
    return encode_pairs(tokenizer, [prompt], [completion])[0]


def encode_training_pair(
    tokenizer: PreTrainedTokenizerBase, prompt: str, completion: str, terminated: bool
) -> tuple[list[int], list[int]]:
    """`encode_pair` for training: a `terminated` completion is followed by the end-of-text token.

    Training that end teaches the model to stop where the answer stops: a correction
    trained without it ends mid-sentence, and greedy decoding then runs on past it
    ("Velmoramoramora"). Scoring never adds it, so probe scores compare the answers alone.
    """
    prompt_ids, completion_ids = encode_pair(tokenizer, prompt, completion)
    if not terminated:
        return prompt_ids, completion_ids
    if tokenizer.eos_token_id is None:
        raise BadInput("train.terminate is eos, but this tokenizer has no end-of-text token; set terminate: none")
    return prompt_ids, [*completion_ids, tokenizer.eos_token_id]


def encode_pairs(
    tokenizer: PreTrainedTokenizerBase, prompts: list[str], completions: list[str]
) -> list[tuple[list[int], list[int]]]:
    """`encode_pair` for many pairs in two batched tokenizer calls (each distinct prompt once)."""
    distinct = list(dict.fromkeys(prompts))
    prompt_ids = dict(zip(distinct, tokenizer(distinct)["input_ids"], strict=True)) if distinct else {}
    joined = [join_completion(c) for c in completions]
    completion_ids = tokenizer(joined, add_special_tokens=False)["input_ids"] if joined else []
    for completion, ids in zip(completions, completion_ids, strict=True):
        if not ids:
            raise ValueError(f"completion {completion!r} encodes to no tokens; give a non-empty text")
    return [(prompt_ids[p], ids) for p, ids in zip(prompts, completion_ids, strict=True)]


def collate_pairs(
    pairs: list[tuple[list[int], list[int]]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded (input_ids, attention_mask, completion_mask), each (B, T).

    `completion_mask[b, t]` is 1 where token t belongs to the completion: the
    tokens whose log-probs count.
    """
    width = max(len(p) + len(c) for p, c in pairs)
    input_ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(pairs), width), dtype=torch.long)
    completion_mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for row, (prompt_ids, completion_ids) in enumerate(pairs):
        n_prompt, n_all = len(prompt_ids), len(prompt_ids) + len(completion_ids)
        input_ids[row, :n_all] = torch.tensor(prompt_ids + completion_ids)
        attention_mask[row, :n_all] = 1
        completion_mask[row, n_prompt:n_all] = 1
    return input_ids, attention_mask, completion_mask


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded (input_ids, attention_mask), each (B, T): every row ends in the last column,
    so the next-token logits of every row sit at the last position."""
    width = max(len(ids) for ids in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, ids in enumerate(rows):
        input_ids[row, width - len(ids) :] = torch.tensor(ids)
        attention_mask[row, width - len(ids) :] = 1
    return input_ids, attention_mask


def right_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (input_ids, attention_mask), each (B, T): every row starts in the first column."""
    width = max(len(ids) for ids in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, ids in enumerate(rows):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention_mask[row, : len(ids)] = 1
    return input_ids, attention_mask


def positions_of(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that count real tokens only, (B, T): a left-padded row starts at 0 where its text starts."""
    return (attention_mask.cumsum(dim=-1) - 1).clamp(min=0)


@dataclass(frozen=True)
class PromptGroup:
    """One distinct prompt, the distinct completions scored after it, and what must run to score them.

    A completion's first token is predicted at the prompt's last position, its later
    tokens at the positions of its own earlier tokens. So a completion needs the prompt
    followed by all but its last token: its *extension*. A one-token completion needs
    the prompt alone; a completion whose extension begins a longer one is read off that
    one's positions. Only the longest extensions run, after the prompt, from its KV cache.
    """

    prompt: tuple[int, ...]
    completions: tuple[tuple[int, ...], ...]
    extensions: tuple[tuple[int, ...], ...]  # none begins another
    extension_of: tuple[int | None, ...]  # per completion: the extension that predicts its later tokens


def group_by_prompt(pairs: Iterable[tuple[Sequence[int], Sequence[int]]]) -> list[PromptGroup]:
    """(prompt ids, completion ids) pairs as one group per distinct prompt, repeats merged,
    shortest prompt first (sorted, batches of groups pad little)."""
    by_prompt: dict[tuple[int, ...], dict[tuple[int, ...], None]] = {}
    for prompt, completion in pairs:
        if not prompt:
            raise ValueError("a prompt encodes to no tokens, so nothing predicts its completion; give a non-empty one")
        by_prompt.setdefault(tuple(prompt), {})[tuple(completion)] = None
    groups = []
    for prompt, distinct in sorted(by_prompt.items(), key=lambda item: len(item[0])):
        completions = tuple(distinct)
        extensions: list[tuple[int, ...]] = []
        for needed in sorted({c[:-1] for c in completions if len(c) > 1}, key=len, reverse=True):
            if not any(e[: len(needed)] == needed for e in extensions):
                extensions.append(needed)
        extension_of = tuple(
            next(i for i, e in enumerate(extensions) if e[: len(c) - 1] == c[:-1]) if len(c) > 1 else None
            for c in completions
        )
        groups.append(PromptGroup(prompt, completions, tuple(extensions), extension_of))
    return groups


def token_logprobs(logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    """Log-prob of each token given the ones before it, (B, T); position 0 gets 0.

    Computed as logit - logsumexp rather than through a full log-softmax, so no
    second (B, T, V) tensor is made: with a 50k vocabulary that is most of the memory.
    """
    shifted = logits[:, :-1].float()  # (B, T-1, V); a view when the logits are float32
    picked = shifted.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)  # (B, T-1)
    return torch.nn.functional.pad(picked - torch.logsumexp(shifted, dim=-1), (1, 0))


def pad_id_of(tokenizer: PreTrainedTokenizerBase) -> int:
    """The id used for padding; padded positions are always masked, so any id works."""
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    return tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
