"""Probe suites, and batched teacher-forced scoring of them before and after an edit.

A probe is a prompt plus the completion that must win (`target`) and the one
that must lose (`foil`). Scores are mean token log-probs, computed in padded
batches sorted by length under `torch.inference_mode()`. Before and after use
the same model in memory: the caller toggles the adapter, never copies the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from editing.errors import BadInput
from editing.jsonl import jsonl_records
from editing.tokens import collate_pairs, encode_pairs, format_prompt, pad_id_of, token_logprobs

PROBE_KINDS = ("edit", "paraphrase", "leak", "control")
SPLITS = ("train", "val", "test")
TOYWORLD_PREFIX = "toyworld:"
TOYWORLD_DATA = Path(__file__).parent / "toyworld" / "data"
TOYWORLD_SUITES = ("capital-change", "dog-cat-swap")


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


@dataclass(frozen=True)
class ProbeSuite:
    name: str
    probes: list[Probe]

    def split(self, split: str) -> list[Probe]:
        return [p for p in self.probes if p.split == split]


@dataclass(frozen=True)
class CompletionScore:
    """How a model scores `completion` after `prompt` under teacher forcing."""

    mean_logprob: float  # mean over the completion's tokens: comparable across lengths
    sum_logprob: float
    n_tokens: int
    greedy_match: bool  # every completion token is the model's top-1 choice at its position


class ProbeSuiteError(BadInput):
    """A probe suite that cannot be read; the message names the file, line and field."""


def parse_probe(record: object, where: str) -> Probe:
    """One probe from a decoded JSON record; `where` names the line for errors."""
    if not isinstance(record, dict):
        raise ProbeSuiteError(f"{where}: a probe must be a JSON object, got {type(record).__name__}")
    for field in ("id", "prompt", "target", "foil", "kind", "split"):
        value = record.get(field)
        if not isinstance(value, str) or not value.strip():
            raise ProbeSuiteError(f"{where}: field {field!r} must be a non-empty string, got {value!r}")
    if record["kind"] not in PROBE_KINDS:
        raise ProbeSuiteError(f"{where}: kind {record['kind']!r} is not one of {', '.join(PROBE_KINDS)}")
    if record["split"] not in SPLITS:
        raise ProbeSuiteError(f"{where}: split {record['split']!r} is not one of {', '.join(SPLITS)}")
    if record["target"] == record["foil"]:
        raise ProbeSuiteError(f"{where}: target and foil are both {record['target']!r}; they must differ")
    return Probe(
        id=record["id"],
        prompt=record["prompt"],
        target=record["target"],
        foil=record["foil"],
        kind=record["kind"],
        split=record["split"],
        relation=str(record.get("relation", "")),
        subject=str(record.get("subject", "")),
    )


def _suite_path(ref: str) -> Path:
    if ref.startswith(TOYWORLD_PREFIX):
        name = ref.removeprefix(TOYWORLD_PREFIX)
        if name not in TOYWORLD_SUITES:
            raise ProbeSuiteError(f"unknown toy-world suite {ref!r}; known: {', '.join(TOYWORLD_SUITES)}")
        return TOYWORLD_DATA / f"{name}.jsonl"
    path = Path(ref).expanduser()
    if not path.is_file():
        raise ProbeSuiteError(f"probe suite {ref!r} is neither a JSONL file nor a toy-world suite (toyworld:NAME)")
    return path


def load_suite(ref: str) -> ProbeSuite:
    """A suite from a JSONL file or the toy world (`toyworld:dog-cat-swap`), validated."""
    path = _suite_path(ref)
    probes, seen = [], set()
    for where, record in jsonl_records(path, ProbeSuiteError):
        probe = parse_probe(record, where)
        if probe.id in seen:
            raise ProbeSuiteError(f"{where}: probe id {probe.id!r} appears twice; ids must be unique")
        seen.add(probe.id)
        probes.append(probe)
    if not probes:
        raise ProbeSuiteError(f"{path} holds no probes")
    name = ref if ref.startswith(TOYWORLD_PREFIX) else path.stem
    return ProbeSuite(name=name, probes=probes)


def load_texts(ref: str) -> list[str]:
    """Plain texts (retain set, fluency text): `toyworld:retain`, a .jsonl of {"text"}, or a .txt."""
    if ref.startswith(TOYWORLD_PREFIX):
        name = ref.removeprefix(TOYWORLD_PREFIX)
        candidates = [TOYWORLD_DATA / f"{name}.jsonl", TOYWORLD_DATA / f"{name}.txt"]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise ValueError(f"unknown toy-world text set {ref!r}; known: toyworld:retain, toyworld:fluency")
    else:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise ValueError(f'text set {ref!r} is not a file; give a .jsonl of {{"text": ...}} or a .txt')
    if path.suffix == ".jsonl":
        texts = []
        for where, record in jsonl_records(path):
            if not isinstance(record, dict) or not str(record.get("text", "")).strip():
                raise ValueError(f'{where}: needs a non-empty "text" field')
            texts.append(record["text"])
    else:
        texts = [line for line in path.read_text().splitlines() if line.strip()]
    if not texts:
        raise ValueError(f"{path} holds no text")
    return texts


@torch.inference_mode()
def score_completions(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    completions: list[str],
    batch_size: int = 128,
) -> list[CompletionScore]:
    """Score each (prompt, completion) pair in right-padded batches sorted by length."""
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions; pass one each")
    pairs = encode_pairs(tokenizer, prompts, completions)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    pad_id = pad_id_of(tokenizer)
    scores: dict[int, CompletionScore] = {}
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        input_ids, _, completion_mask = collate_pairs([pairs[i] for i in rows], pad_id)
        input_ids = input_ids.to(model.device)
        # right padding under causal attention: no real token ever attends to a pad on its right, so
        # the mask can be left out, which lets attention take its fused causal path
        logits = model(input_ids=input_ids, use_cache=False).logits  # (B, T, V)
        # token t is predicted by the logits at t - 1; only completion tokens are scored, so the
        # softmax over the vocabulary runs on those N positions alone
        scored = completion_mask[:, 1:].bool().to(logits.device)  # (B, T-1)
        picked = logits[:, :-1][scored].float()  # (N, V)
        targets = input_ids[:, 1:][scored]  # (N,)
        token_logprob = torch.log_softmax(picked, dim=-1).gather(-1, targets[:, None]).squeeze(-1)
        row = scored.nonzero()[:, 0]
        sums = torch.zeros(len(rows), device=logits.device).index_add_(0, row, token_logprob)
        hits = torch.zeros(len(rows), device=logits.device).index_add_(0, row, (picked.argmax(-1) == targets).float())
        counts = completion_mask.sum(dim=1).tolist()
        for r, (i, total, n_hits) in enumerate(zip(rows, sums.tolist(), hits.tolist(), strict=True)):
            scores[i] = CompletionScore(
                mean_logprob=total / counts[r],
                sum_logprob=total,
                n_tokens=counts[r],
                greedy_match=n_hits == counts[r],
            )
    return [scores[i] for i in range(len(pairs))]


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
    encoded = [tokenizer(p)["input_ids"] for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    pad_id = pad_id_of(tokenizer)
    out: dict[int, str] = {}
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(encoded[i]) for i in rows)
        input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            input_ids[r, width - len(encoded[i]) :] = torch.tensor(encoded[i])
            attention_mask[r, width - len(encoded[i]) :] = 1
        input_ids, attention_mask = input_ids.to(model.device), attention_mask.to(model.device)
        new_tokens = []
        for _ in range(max_new_tokens):
            position_ids = (attention_mask.cumsum(dim=-1) - 1).clamp(min=0)
            logits = model(
                input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False
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
            out[i] = tokenizer.decode(ids, skip_special_tokens=True)
    return [out[i] for i in range(len(prompts))]


def score_probes(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    probes: list[Probe],
    chat: bool = False,
    max_new_tokens: int = 4,
    batch_size: int = 64,
    continue_kinds: tuple[str, ...] = PROBE_KINDS,
) -> list[ProbeScore]:
    """Target and foil scores for every probe in one batched pass, and a greedy continuation
    for the probes of `continue_kinds` (controls need one to tell whether they changed)."""
    prompts = [format_prompt(tokenizer, p.prompt, chat) for p in probes]
    scored = score_completions(
        model, tokenizer, prompts + prompts, [p.target for p in probes] + [p.foil for p in probes], batch_size
    )
    wanted = [i for i, p in enumerate(probes) if p.kind in continue_kinds]
    generated = greedy_continuations(model, tokenizer, [prompts[i] for i in wanted], max_new_tokens, batch_size)
    continuations = dict(zip(wanted, generated, strict=True))
    n = len(probes)
    return [
        ProbeScore(probe, scored[i].mean_logprob, scored[n + i].mean_logprob, continuations.get(i, ""))
        for i, probe in enumerate(probes)
    ]


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
def adapter_disabled(model: PreTrainedModel) -> Iterator[None]:
    """Run the base model: a peft model's adapter switched off; a plain model as it is."""
    with model.disable_adapter() if hasattr(model, "disable_adapter") else nullcontext():
        yield


def kl_per_position(base_logits: torch.Tensor, edited_logits: torch.Tensor) -> torch.Tensor:
    """KL(base || edited) of the next-token distributions at each position, (B, T)."""
    base = torch.log_softmax(base_logits.float(), dim=-1)
    edited = torch.log_softmax(edited_logits.float(), dim=-1)
    return (base.exp() * (base - edited)).sum(dim=-1)


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
