"""Batched teacher-forced scoring of probes and texts, before and after an edit.

Scores are mean token log-probs under `torch.inference_mode()`, in batches
sorted by length, with every pass that can be shared run once (`score_completions`).
Before and after use the same model in memory: the caller toggles the adapter
(`adapter_disabled`), never copies the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace

import torch
from peft import PeftModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from editing.models import ScorableModel
from editing.probes.suites import Probe
from editing.tokens import (
    PromptGroup,
    collate_pairs,
    encode_pairs,
    format_prompt,
    group_by_prompt,
    left_pad,
    pad_id_of,
    positions_of,
    right_pad,
    token_logprobs,
)
from editing.vocab import PROBE_KINDS


@dataclass(frozen=True)
class ProbeScore:
    """One probe scored in one phase (before or after the edit)."""

    probe: Probe
    target_logprob: float  # mean token log-prob of the target, teacher-forced
    foil_logprob: float
    continuation: str  # greedy continuation of the prompt, a few tokens
    # what the greedy continuation begins with, compared on tokens (`answer_given`): "target",
    # "foil" or "third"; None when the phase generated no continuation for this probe
    answer: str | None = None

    @property
    def margin(self) -> float:
        return self.target_logprob - self.foil_logprob

    @property
    def success(self) -> bool:
        return self.margin > 0

    @property
    def says(self) -> str | None:
        """What the model says: `answer`, or, for a score built by hand without one, the same
        comparison made on the continuation's words (`answer_in_words`)."""
        if self.answer is not None:
            return self.answer
        if not self.continuation.strip():
            return None
        return answer_in_words(self.continuation, self.probe.target, self.probe.foil)


_WORD = re.compile(r"\w+|[^\w\s]")


def _begins_with(continuation: Sequence, answer: Sequence) -> bool:
    return len(answer) > 0 and list(continuation[: len(answer)]) == list(answer)


def answer_in_words(continuation: str, target: str, foil: str) -> str:
    """ "target", "foil" or "third": which answer the text begins with, as whole words
    (`cat` does not begin `caterpillar`). The longer answer wins when one begins the other."""
    words = _WORD.findall(continuation)
    candidates = sorted(((_WORD.findall(target), "target"), (_WORD.findall(foil), "foil")), key=lambda c: -len(c[0]))
    for answer_words, name in candidates:
        if _begins_with(words, answer_words):
            return name
    return "third"


def answer_given(generated: Sequence[int], answers: dict[str, Sequence[int]], rest_of: Callable[[int], str]) -> str:
    """Which answer ("target" or "foil") the generated token ids begin with, else "third".

    Tokens, not characters: the answer's ids (as they encode after the prompt) must
    open the generated ids, and the answer must end where a word ends: what follows
    its tokens (`rest_of(n)`, the decoded text after the first n ids) is empty or
    does not continue the word. So " cat" never matches " caterpillar", even where
    the tokenizer splits " caterpillar" into " cat" + "erpillar".
    """
    for name, ids in sorted(answers.items(), key=lambda item: -len(item[1])):
        if _begins_with(generated, ids):
            rest = rest_of(len(ids))
            if not rest or not (rest[0].isalnum() or rest[0] == "_"):
                return name
    return "third"


_Pair = tuple[tuple[int, ...], tuple[int, ...]]  # (prompt ids, completion ids)


@dataclass(frozen=True)
class CompletionScore:
    """How a model scores `completion` after `prompt` under teacher forcing."""

    mean_logprob: float  # mean over the completion's tokens: comparable across lengths
    sum_logprob: float
    n_tokens: int
    greedy_match: bool  # every completion token is the model's top-1 choice at its position


@torch.inference_mode()
def score_completions(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    completions: list[str],
    batch_size: int = 128,
) -> list[CompletionScore]:
    """Score each (prompt, completion) pair, sharing every pass that can be shared.

    Identical pairs are scored once, and each distinct prompt runs once for all its
    completions (`group_by_prompt`): one-token completions are read off the prompt's
    last position, longer ones continue from the prompt's KV cache. Prompts run in
    batches of `batch_size`, sorted by length so that little is padding.
    """
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions; pass one each")
    pairs = [(tuple(p), tuple(c)) for p, c in encode_pairs(tokenizer, prompts, completions)]
    groups = group_by_prompt(pairs)
    pad_id = pad_id_of(tokenizer)
    scores: dict[_Pair, CompletionScore] = {}
    for start in range(0, len(groups), batch_size):
        scores.update(_score_groups(model, groups[start : start + batch_size], pad_id))
    return [scores[pair] for pair in pairs]


def _score_groups(model: PreTrainedModel, groups: list[PromptGroup], pad_id: int) -> dict[_Pair, CompletionScore]:
    """Every completion of a batch of prompt groups, from the next-token distributions that predict its tokens."""
    distributions, width = _next_token_logits(model, groups, pad_id)
    keys: list[_Pair] = []
    where: list[int] = []  # per completion token: the row of `distributions` that predicts it
    targets: list[int] = []
    owner_of_token: list[int] = []
    first_extension_row = 0
    for b, group in enumerate(groups):
        for completion, extension in zip(group.completions, group.extension_of, strict=True):
            where.append(b)  # the first token: after the prompt
            if extension is not None:  # the rest: at the positions of the extension's tokens
                row = len(groups) + (first_extension_row + extension) * width
                where += range(row, row + len(completion) - 1)
            targets += completion
            owner_of_token += [len(keys)] * len(completion)
            keys.append((group.prompt, completion))
        first_extension_row += len(group.extensions)
    device = distributions.device
    picked = distributions[torch.tensor(where, device=device)].float()  # (N, V)
    target = torch.tensor(targets, device=device)
    token_logprob = torch.log_softmax(picked, dim=-1).gather(-1, target[:, None]).squeeze(-1)
    owner = torch.tensor(owner_of_token, device=device)
    sums = torch.zeros(len(keys), device=device).index_add_(0, owner, token_logprob)
    hits = torch.zeros(len(keys), device=device).index_add_(0, owner, (picked.argmax(-1) == target).float())
    return {
        key: CompletionScore(
            mean_logprob=total / len(key[1]), sum_logprob=total, n_tokens=len(key[1]), greedy_match=n == len(key[1])
        )
        for key, total, n in zip(keys, sums.tolist(), hits.tolist(), strict=True)
    }


def _next_token_logits(model: PreTrainedModel, groups: list[PromptGroup], pad_id: int) -> tuple[torch.Tensor, int]:
    """The logits after each prompt, (B, V), then at every position of every extension, (R * E, V),
    stacked; and E, the extensions' padded width. One pass over the prompts, one over the extensions."""
    prompt_ids, prompt_mask = left_pad([g.prompt for g in groups], pad_id)
    prompt_ids, prompt_mask = prompt_ids.to(model.device), prompt_mask.to(model.device)
    owners = [b for b, g in enumerate(groups) for _ in g.extensions]
    # logits at the last position only (left padding puts every prompt's end there), so the
    # vocabulary projection runs on B positions, not B * T
    out = model(
        input_ids=prompt_ids,
        attention_mask=prompt_mask,
        position_ids=positions_of(prompt_mask),
        use_cache=bool(owners),
        logits_to_keep=1,
    )
    after_prompt = out.logits[:, -1]  # (B, V)
    if not owners:
        return after_prompt, 0
    extension_ids, extension_mask = right_pad([e for g in groups for e in g.extensions], pad_id)
    owner = torch.tensor(owners, device=model.device)
    cache = out.cache
    cache.reorder_cache(owner)  # each extension row gets its prompt's keys and values, repeated as needed
    width = extension_ids.shape[1]
    logits = model(
        input_ids=extension_ids.to(model.device),
        attention_mask=torch.cat([prompt_mask[owner], extension_mask.to(model.device)], dim=1),
        position_ids=prompt_mask[owner].sum(dim=1, keepdim=True) + torch.arange(width, device=model.device),
        cache=cache,
    ).logits  # (R, E, V)
    return torch.cat([after_prompt, logits.flatten(0, 1)]), width


@torch.inference_mode()
def greedy_continuations(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    max_new_tokens: int = 4,
    batch_size: int = 64,
) -> list[str]:
    """Greedy continuations, batched: left-padded, with explicit positions, a few full passes.

    No KV cache: for a handful of new tokens on short prompts, re-running the
    batch is cheaper than `generate()`'s set-up, and it is easy to check.
    """
    ids = greedy_token_ids(model, tokenizer, prompts, max_new_tokens, batch_size)
    return [decode_text(tokenizer, row) for row in ids]


@torch.inference_mode()
def greedy_token_ids(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    max_new_tokens: int = 4,
    batch_size: int = 64,
) -> list[list[int]]:
    """The token ids of each prompt's greedy continuation, cut at the end-of-text token."""
    encoded = [tokenizer(p)["input_ids"] for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    pad_id = pad_id_of(tokenizer)
    out: dict[int, list[int]] = {}
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        input_ids, attention_mask = left_pad([encoded[i] for i in rows], pad_id)
        input_ids, attention_mask = input_ids.to(model.device), attention_mask.to(model.device)
        new_tokens = []
        for _ in range(max_new_tokens):
            logits = model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=positions_of(attention_mask),
                use_cache=False,
                logits_to_keep=1,
            ).logits
            next_token = logits[:, -1].argmax(dim=-1, keepdim=True)  # (B, 1)
            new_tokens.append(next_token)
            input_ids = torch.cat([input_ids, next_token], dim=-1)
            attention_mask = torch.cat([attention_mask, torch.ones_like(next_token)], dim=-1)
        generated = torch.cat(new_tokens, dim=-1).cpu()
        for r, i in enumerate(rows):
            ids = generated[r].tolist()
            if tokenizer.eos_token_id in ids:  # stop where greedy decoding would have stopped
                ids = ids[: ids.index(tokenizer.eos_token_id)]
            out[i] = ids
    return [out[i] for i in range(len(prompts))]


def score_probes(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    probes: list[Probe],
    chat: bool = False,
    max_new_tokens: int = 4,
    batch_size: int = 64,
    continue_kinds: tuple[str, ...] = tuple(PROBE_KINDS),
) -> list[ProbeScore]:
    """Target and foil scores for every probe in one batched pass, and a greedy continuation
    for the probes of `continue_kinds` (controls need one to tell whether they changed),
    with the answer it begins with (`answer_given`).

    Continuations run to at least one token past the longest answer, so that a
    multi-token answer can be seen whole and where it ends.
    """
    prompts = [format_prompt(tokenizer, p.prompt, chat) for p in probes]
    completions = [p.target for p in probes] + [p.foil for p in probes]
    scored = score_completions(model, tokenizer, prompts + prompts, completions, batch_size)
    n = len(probes)
    answer_ids = [ids for _, ids in encode_pairs(tokenizer, prompts + prompts, completions)] if probes else []
    wanted = [i for i, p in enumerate(probes) if p.kind in continue_kinds]
    longest = max((len(answer_ids[i]) for i in wanted for i in (i, n + i)), default=0)
    generated = greedy_token_ids(
        model, tokenizer, [prompts[i] for i in wanted], max(max_new_tokens, longest + 1), batch_size
    )
    scores = [ProbeScore(p, scored[i].mean_logprob, scored[n + i].mean_logprob, "") for i, p in enumerate(probes)]
    for i, ids in zip(wanted, generated, strict=True):
        answer = answer_given(ids, {"target": answer_ids[i], "foil": answer_ids[n + i]}, _decoder(tokenizer, ids))
        scores[i] = replace(scores[i], continuation=decode_text(tokenizer, ids), answer=answer)
    return scores


def decode_text(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> str:
    """The text of one sequence of token ids, special tokens dropped."""
    text = tokenizer.decode(ids, skip_special_tokens=True)
    if not isinstance(text, str):  # decode returns a list only for a batch of sequences
        raise TypeError(f"expected one sequence of token ids, got {type(ids).__name__}")
    return text


def _decoder(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> Callable[[int], str]:
    """The text of `ids` after their first k tokens, for `answer_given`'s word-end check."""
    return lambda k: decode_text(tokenizer, ids[k:])


def _text_batches(tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int) -> Iterator[tuple]:
    """(input_ids, attention_mask, loss_mask) batches where every token but the first is scored."""
    pad_id = pad_id_of(tokenizer)
    encoded = [tokenizer(t)["input_ids"] for t in texts]
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        # a "prompt" of the first token and a "completion" of the rest scores every later token
        input_ids, attention_mask, loss_mask = collate_pairs([(ids[:1], ids[1:]) for ids in chunk], pad_id)
        yield input_ids, attention_mask, loss_mask


@torch.inference_mode()
def token_nlls(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int = 32
) -> list[list[float]]:
    """Per-token negative log-likelihood of each text (its first token excluded): perplexity's raw data."""
    out = []
    for input_ids, attention_mask, loss_mask in _text_batches(tokenizer, texts, batch_size):
        logits = model(
            input_ids=input_ids.to(model.device), attention_mask=attention_mask.to(model.device), use_cache=False
        ).logits
        logprobs = token_logprobs(logits, input_ids.to(model.device)).cpu()
        out += [(-logprobs[r, loss_mask[r].bool()]).tolist() for r in range(len(input_ids))]
    return out


@contextmanager
def adapter_disabled(model: ScorableModel) -> Iterator[None]:
    """Run the base model: a peft model's adapter switched off; a plain model as it is."""
    with model.disable_adapter() if isinstance(model, PeftModel) else nullcontext():
        yield


def kl_per_position(base_logits: torch.Tensor, edited_logits: torch.Tensor) -> torch.Tensor:
    """KL(base || edited) of the next-token distributions at each position, (B, T)."""
    return kl_from_base_logprobs(torch.log_softmax(base_logits.float(), dim=-1), edited_logits)


def kl_from_base_logprobs(base_logprobs: torch.Tensor, edited_logits: torch.Tensor) -> torch.Tensor:
    """KL(base || edited) at each position, from the base model's next-token log-probs (..., V) and the
    edited model's logits (..., V): sum p (log p - log q), element by element, so that a KL of 1e-4
    between two distributions with logits near 10 keeps its digits."""
    edited = torch.log_softmax(edited_logits.float(), dim=-1)
    return (base_logprobs.exp() * (base_logprobs - edited)).sum(dim=-1)


@torch.inference_mode()
def kl_to_base(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int = 32
) -> list[float]:
    """Mean KL(base || edited) over each text's positions; the adapter is toggled, not copied."""
    out = []
    for input_ids, attention_mask, _ in _text_batches(tokenizer, texts, batch_size):
        input_ids, attention_mask = input_ids.to(model.device), attention_mask.to(model.device)
        with adapter_disabled(model):
            base_logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
        edited_logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
        kl = kl_per_position(base_logits, edited_logits)
        mask = attention_mask.bool()
        out += [kl[r, mask[r]].mean().item() for r in range(len(input_ids))]
    return out
