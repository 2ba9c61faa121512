"""apply_edit(): train a LoRA adapter on training examples, in one plain loop. Adapter I/O.

Read it top to bottom: pick the modules, wrap the model with peft, then for
each step take a batch of examples, add up the loss of each objective (plus
the KL term on retain texts), step, and now and then ask the validation probes
whether the edit is done. The base model is never copied: peft's
`disable_adapter()` gives it back whenever DPO or the KL term need it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from transformers.pytorch_utils import Conv1D

from editing.errors import BadInput, RunFailed
from editing.layers import layer_index
from editing.objectives import ReferenceCache, step_losses
from editing.prefixes import behind_prefixes
from editing.quiet import quiet_dependencies
from editing.spec import LoraSpec, TrainSpec
from editing.training import Training, resolve_training
from editing.training_data import TrainingExample

# Which modules `targets: mlp | attention` mean, per architecture (config.model_type).
# Names are suffixes of module paths; extending nudge to a new family is one entry here.
_LLAMA_LIKE = {
    "mlp": ["mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"],
    "attention": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"],
}
TARGET_MODULES: dict[str, dict[str, list[str]]] = {
    "gpt2": {"mlp": ["mlp.c_fc", "mlp.c_proj"], "attention": ["attn.c_attn", "attn.c_proj"]},
    "gpt_neox": {
        "mlp": ["mlp.dense_h_to_4h", "mlp.dense_4h_to_h"],
        "attention": ["attention.query_key_value", "attention.dense"],
    },
    "gptj": {
        "mlp": ["mlp.fc_in", "mlp.fc_out"],
        "attention": ["attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.out_proj"],
    },
    "opt": {
        "mlp": ["fc1", "fc2"],
        "attention": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj"],
    },
    **{
        name: _LLAMA_LIKE
        for name in ("llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "olmo", "olmo2")
    },
}
EXPLODING_LOSS = 1e4  # no objective here reaches this on a healthy run
T = TypeVar("T")


class EditError(RunFailed):
    """Training could not produce a usable adapter; the message says what to change."""


@dataclass
class EditConfig:
    """How to edit: the LoRA shape and the training loop (the spec's `lora` and `train`)."""

    lora: LoraSpec
    train: Training | TrainSpec  # a run's resolved settings; a spec's section is resolved as for a base model
    chat: bool = False

    @property
    def training(self) -> Training:
        """The training settings as plain values."""
        return self.train if isinstance(self.train, Training) else resolve_training(self.train)


@dataclass
class EditResult:
    model: PeftModel  # the base model with the trained adapter on; `disable_adapter()` gives the base
    target_modules: list[str]
    steps: int
    stopped_early: bool
    history: list[dict[str, float]]  # per step: each loss term, and val metrics when checked
    seconds: float


def _adaptable(model: PreTrainedModel) -> dict[str, torch.nn.Module]:
    return {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear | Conv1D) and n}


def resolve_target_modules(model: PreTrainedModel, targets: str | list[str], layers: str | list[int]) -> list[str]:
    """Full names of the modules to adapt, for `targets` (mlp | attention | suffixes) and `layers`."""
    candidates = _adaptable(model)
    model_type = model.config.model_type
    if isinstance(targets, str):
        if model_type not in TARGET_MODULES:
            suffixes = sorted({".".join(n.split(".")[-2:]) for n in candidates})
            raise EditError(
                f"nudge has no `{targets}` module list for model type {model_type!r}; name the modules in "
                f"lora.targets instead, from: {', '.join(suffixes[:12])}"
            )
        suffixes = TARGET_MODULES[model_type][targets]
    else:
        suffixes = targets
        for suffix in suffixes:
            if not any(n == suffix or n.endswith(f".{suffix}") for n in candidates):
                known = sorted({".".join(n.split(".")[-2:]) for n in candidates})
                raise EditError(
                    f"lora.targets: no linear module named {suffix!r} in this {model_type} model; "
                    f"known: {', '.join(known[:16])}"
                )
    chosen = [n for n in candidates if any(n == s or n.endswith(f".{s}") for s in suffixes)]
    if not isinstance(layers, str):  # a list of layer numbers; the spec allows only "all" as a string
        present = sorted({i for i in map(layer_index, chosen) if i is not None})
        missing = sorted(set(layers) - set(present))
        if missing:
            raise EditError(
                f"lora.layers: the model has no layer {missing[0]}; it has layers {present[0]}-{present[-1]}"
            )
        chosen = [n for n in chosen if layer_index(n) in set(layers)]
    return chosen


def attach_lora(model: PreTrainedModel, lora: LoraSpec, seed: int) -> tuple[PeftModel, list[str]]:
    """Wrap the model with fresh LoRA weights on the chosen modules (seeded init)."""
    modules = resolve_target_modules(model, lora.targets, lora.layers)
    conv1d = any(isinstance(m, Conv1D) for n, m in _adaptable(model).items() if n in set(modules))
    config = LoraConfig(
        r=lora.rank,
        lora_alpha=lora.alpha,  # type: ignore[arg-type]  # peft types it int but scales by any float
        lora_dropout=lora.dropout,
        target_modules=modules,
        fan_in_fan_out=conv1d,  # GPT-2's Conv1D stores its weight transposed
        bias="none",
        task_type="CAUSAL_LM",
    )
    torch.manual_seed(seed)
    with quiet_dependencies():  # peft reads transformers' deprecated `is_gradient_checkpointing`
        return get_peft_model(model, config), modules


def _cycle(items: Sequence[T], seed: int) -> Iterator[T]:
    """Endless seeded passes over `items`, reshuffled each pass."""
    rng = random.Random(seed)
    while True:
        order = list(items)
        rng.shuffle(order)
        yield from order


def _next_batch(stream: Iterator[T], size: int) -> list[T]:
    return [next(stream) for _ in range(size)]


def _check_finite(loss: torch.Tensor, step: int, lr: float) -> None:
    value = loss.item()
    if not torch.isfinite(loss) or value > EXPLODING_LOSS:
        raise EditError(
            f"the loss became {value:.4g} at step {step} (diverged); no adapter was saved. "
            f"Lower train.lr (now {lr:g}) or raise train.kl_weight"
        )


def apply_edit(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    examples: list[TrainingExample],
    config: EditConfig,
    retain_texts: list[str] | None = None,
    prefix_texts: list[str] | None = None,
    validate: Callable[[PeftModel], tuple[bool, dict[str, float]]] | None = None,
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
) -> EditResult:
    """Train a LoRA adapter so the model follows the examples; returns the model with it on.

    `validate(model) -> (done, metrics)` is called every `train.eval_every`
    steps when `train.early_stop` is `val`; training stops once it says done.
    With `train.prefixes.per_example` above 0, every example is also trained behind that
    many of `prefix_texts` (editing/prefixes.py).
    Raises EditError on a diverging loss or when memory runs out.
    """
    train = config.training
    if not examples:
        raise ValueError("no training examples; the feedback selected nothing to learn from")
    started = time.perf_counter()
    peft_model, modules = attach_lora(model, config.lora, train.seed)
    peft_model.eval()  # no dropout in the base model: the KL term compares like with like
    for name, module in peft_model.named_modules():
        if name.endswith("lora_dropout"):
            module.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=train.lr, weight_decay=0.0)
    example_stream = _cycle(examples, train.seed)
    retain_stream = _cycle(retain_texts, train.seed) if retain_texts and train.kl_weight > 0 else None
    per_example = train.prefixes.per_example
    prefix_stream = _cycle(prefix_texts, train.seed + 1) if prefix_texts and per_example else None
    reference = ReferenceCache()  # the base model's outputs, computed once per sequence for this edit
    history: list[dict[str, float]] = []
    stopped_early, step = False, 0
    try:
        for step in range(1, train.steps + 1):
            batch = _next_batch(example_stream, min(train.batch_size, len(examples)))
            if prefix_stream is not None:
                batch += behind_prefixes(batch, _next_batch(prefix_stream, len(batch) * per_example))
            retain = _next_batch(retain_stream, train.retain_batch_size) if retain_stream else []
            terms = step_losses(
                peft_model, tokenizer, batch, retain, train.kl_weight, train.dpo_beta, config.chat, reference
            )
            loss = functools.reduce(operator.add, terms.values())  # the terms' sum, added in order
            _check_finite(loss, step, train.lr)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, train.max_grad_norm)
            if not torch.isfinite(grad_norm):
                raise EditError(
                    f"the gradient became {grad_norm.item()} at step {step}; lower train.lr (now {train.lr:g})"
                )
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            record = {name: t.item() for name, t in terms.items()} | {"loss": loss.item()}
            if (
                validate is not None
                and train.early_stop == "val"
                and (step % train.eval_every == 0 or step == train.steps)
            ):
                done, metrics = validate(peft_model)
                record |= {f"val_{k}": v for k, v in metrics.items()}
                stopped_early = done and step < train.steps
            history.append(record)
            if on_step is not None:
                on_step(step, train.steps, record)
            if stopped_early:
                break
    except torch.OutOfMemoryError as exc:
        raise EditError(
            f"out of memory at step {step}; lower train.batch_size (now {train.batch_size}) or "
            f"train.retain_batch_size (now {train.retain_batch_size}), or lora.rank (now {config.lora.rank})"
        ) from exc
    peft_model.eval()
    return EditResult(peft_model, modules, step, stopped_early, history, time.perf_counter() - started)


def adapter_sha256(folder: Path) -> str:
    """sha256 over the adapter folder's files (names and bytes, in name order)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def save_adapter(model: PeftModel, dest: Path, base: AdapterBase | None = None) -> str:
    """Save a standard peft folder at `dest`, atomically (temp folder, then rename); returns its sha256.

    `base` (what the adapter was trained on) is written beside peft's files, inside the hash.
    """
    dest = Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; adapters are never overwritten")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        with quiet_dependencies():
            model.save_pretrained(str(staging))
        if base is not None:
            (staging / ADAPTER_BASE_FILE).write_text(json.dumps(asdict(base), sort_keys=True) + "\n")
        sha = adapter_sha256(staging)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sha


# --- what an adapter was trained on: an adapter means something only on the weights it was trained on ---

ADAPTER_BASE_FILE = "nudge_base.json"


class AdapterBaseMismatch(BadInput):
    """An adapter is being applied to other weights than the ones it was trained on (`trained_on`)."""

    def __init__(self, message: str, trained_on: AdapterBase | None = None) -> None:
        super().__init__(message)
        self.trained_on = trained_on


@dataclass(frozen=True)
class AdapterBase:
    """The model an adapter was trained on: how to name it, and its weights' fingerprint."""

    model: str  # `toyworld`, a folder, a hub id, or `version:N` for a stored version's merged chain
    fingerprint: str  # `merged_fingerprint` of that model


def merged_fingerprint(base_fingerprint: str, adapter_sha256s: Sequence[str]) -> str:
    """The fingerprint of a base model with adapters merged in, in order; the base's own with none."""
    if not adapter_sha256s:
        return base_fingerprint
    return hashlib.sha256("\n".join([base_fingerprint, *adapter_sha256s]).encode()).hexdigest()


def read_adapter_base(folder: Path) -> AdapterBase | None:
    """What the adapter in `folder` was trained on; None for an adapter saved without it (e.g. by peft alone)."""
    path = Path(folder) / ADAPTER_BASE_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return AdapterBase(model=str(data["model"]), fingerprint=str(data["fingerprint"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise AdapterBaseMismatch(f"{path} is damaged ({exc}); save the adapter again") from exc


def check_adapter_base(folder: Path, fingerprint: str) -> AdapterBase | None:
    """Refuse an adapter trained on weights other than those with `fingerprint`; return what it was trained on."""
    base = read_adapter_base(folder)
    if base is not None and base.fingerprint != fingerprint:
        raise AdapterBaseMismatch(
            f"the adapter {folder} was trained on {base.model} (fingerprint {base.fingerprint[:12]}), not on this "
            f"model (fingerprint {fingerprint[:12]}): apply it to {base.model}, the model it was trained on",
            base,
        )
    return base
