"""Check a spec against its model before anything is written: the edit fits the model, the texts fit its context.

Only the model's config and tokenizer are read (the weights stay on disk): the modules
come from a skeleton built on the `meta` device, which holds no memory. So a dry run
catches a layer the model lacks, a rank wider than a module, or a probe longer than
the context, in a second, instead of a traceback minutes into a run.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, PretrainedConfig, PreTrainedTokenizerBase
from transformers.pytorch_utils import Conv1D

from editing.errors import BadInput
from editing.lora import EditError, resolve_target_modules
from editing.prefixes import PREFIX_TOKENS, ContextPrefixes, behind_prefixes
from editing.probes import Probe
from editing.spec import LoraSpec
from editing.tokens import encode_pairs, format_prompt
from editing.training_data import TrainingExample


class PreflightError(BadInput):
    """The spec does not fit its model; the message names the field, the probe or the example."""


def context_length(config: PretrainedConfig) -> int | None:
    """How many positions the model can attend to, when its config says (GPT-2: n_positions)."""
    for name in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _module_widths(config: PretrainedConfig, lora: LoraSpec) -> dict[str, int]:
    """The modules the spec adapts, each with its narrower side (a LoRA rank cannot exceed it)."""
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    try:
        names = resolve_target_modules(skeleton, lora.targets, lora.layers)
    except EditError as exc:
        raise PreflightError(str(exc)) from exc
    modules = dict(skeleton.named_modules())
    widths = {}
    for name in names:
        module = modules[name]
        shape = module.weight.shape if isinstance(module, Conv1D) else (module.in_features, module.out_features)
        widths[name] = min(shape)
    return widths


def check_edit_fits(config: PretrainedConfig, lora: LoraSpec) -> None:
    """lora.targets, lora.layers and lora.rank against the model's modules."""
    widths = _module_widths(config, lora)
    narrowest = min(widths, key=widths.__getitem__)
    if lora.rank > widths[narrowest]:
        raise PreflightError(
            f"lora.rank {lora.rank} is wider than module {narrowest} ({widths[narrowest]}); "
            f"choose a rank of at most {widths[narrowest]}"
        )


def check_context(
    tokenizer: PreTrainedTokenizerBase,
    limit: int,
    probes: list[Probe],
    examples: list[TrainingExample],
    chat: bool,
    generated_tokens: dict[str, int],
    before_examples: int = 0,
) -> None:
    """Every probe (with the tokens generated after it) and training example fits in `limit` positions.

    `generated_tokens` maps a prompt to how many tokens a run generates after it; `before_examples` is how
    many positions a training example must leave free before it (a context prefix sampled later).
    """
    items = [
        (f"probe {p.id!r}", p.prompt, answer, generated_tokens.get(p.prompt, 0), 0)
        for p in probes
        for answer in (p.target, p.foil)
    ]
    items += [
        (f"training example from {e.source or repr(e.prompt[:40])}", e.prompt, answer, 0, before_examples)
        for e in examples
        for answer in (e.completion, e.rejected)
        if answer
    ]
    prompts = [format_prompt(tokenizer, prompt, chat) for _, prompt, _, _, _ in items]
    pairs = encode_pairs(tokenizer, prompts, [answer for _, _, answer, _, _ in items])
    for (what, _, _, generated, before), (prompt_ids, answer_ids) in zip(items, pairs, strict=True):
        needed = before + max(len(prompt_ids) + len(answer_ids), len(prompt_ids) + generated)
        if needed > limit:
            room = f" ({before} of them for the context prefix before it)" if before else ""
            raise PreflightError(
                f"{what} needs {needed} tokens{room} but the model reads at most {limit}; shorten it or drop it"
            )


def check_texts(tokenizer: PreTrainedTokenizerBase, limit: int, texts: list[str], what: str) -> None:
    """Retain and fluency texts are read whole: each must fit in the context."""
    for index, ids in enumerate(tokenizer(texts)["input_ids"] if texts else []):
        if len(ids) > limit:
            raise PreflightError(
                f"{what} text {index + 1} has {len(ids)} tokens but the model reads at most {limit}; "
                "split or shorten it"
            )


def check_context_prefixes(
    tokenizer: PreTrainedTokenizerBase,
    limit: int,
    prefixes: ContextPrefixes,
    texts: list[str],
    examples: list[TrainingExample],
    chat: bool,
) -> None:
    """Every training example still fits in `limit` positions behind the texts train.prefixes puts before it:
    the longest of `texts`, or the longest sample the model can write (`model`, drawn when the run starts)."""
    _check_prefix_texts(tokenizer, limit, texts, examples, chat)
    if prefixes.sampled:
        _check_sampled_prefixes(tokenizer, limit, PREFIX_TOKENS, examples, chat)


def _check_prefix_texts(
    tokenizer: PreTrainedTokenizerBase, limit: int, prefixes: list[str], examples: list[TrainingExample], chat: bool
) -> None:
    """Every training example still fits in `limit` positions behind the longest text of train.prefixes."""
    if not prefixes or not examples:
        return
    lengths = [len(ids) for ids in tokenizer(prefixes)["input_ids"]]
    longest = prefixes[lengths.index(max(lengths))]
    try:
        check_context(tokenizer, limit, [], behind_prefixes(examples, [longest] * len(examples)), chat, {})
    except PreflightError as exc:
        raise PreflightError(
            f"train.context_prefixes: behind the longest prefix text ({max(lengths)} tokens, {longest[:40]!r}), {exc}; "
            "use shorter prefix texts (train.prefixes)"
        ) from exc


def _check_sampled_prefixes(
    tokenizer: PreTrainedTokenizerBase, limit: int, tokens: int, examples: list[TrainingExample], chat: bool
) -> None:
    """Every training example still fits in `limit` positions behind a prefix the model samples
    (`train.prefixes: model`): an opening, `tokens` new tokens and a full stop, counted as `tokens + 4`."""
    try:
        check_context(tokenizer, limit, [], examples, chat, {}, before_examples=tokens + 4)
    except PreflightError as exc:
        raise PreflightError(
            f"train.prefixes: model puts up to {tokens + 4} sampled tokens before each prompt: {exc}, "
            "or set train.context_prefixes: 0"
        ) from exc
