"""The edit's multi-scale view: its spectrum, a rank-truncation sweep and a layer sweep.

For each adapted module the edit is dW = (alpha / r) * B @ A (peft's
`get_delta_weight`), of the model's active adapter. We report its singular
values, its effective rank and its size relative to W, then re-measure the
probes with every dW cut to its top-k directions (k = 1..r) and with each
layer's adapter switched off. This is evidence about where the effect lives,
not an explanation of how it works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import torch
from peft import PeftModel
from peft.tuners.lora import LoraLayer

from editing.layers import layer_index

NOTE = (
    "Truncation: every adapted module's dW cut to its top k singular directions at once. Layers: one "
    "layer's adapters switched off (B = 0) at a time. Each point re-scores the test probes."
)


@dataclass
class ModuleSpectrum:
    name: str
    layer: int | None
    singular_values: list[float]
    effective_rank: float  # exp(entropy of the normalised singular values), Roy & Vetterli 2007
    relative_norm: float  # ||dW||_F / ||W||_F


def active_adapter(model: PeftModel) -> str:
    """The one adapter the views are of: the model's active adapter (peft names a fresh one `default`)."""
    adapters = model.active_adapters
    if len(adapters) != 1:
        raise ValueError(
            f"the spectral views read one adapter, but {adapters} are active; pick one with model.set_adapter(NAME)"
        )
    return adapters[0]


def lora_modules(model: PeftModel) -> dict[str, LoraLayer]:
    """Modules that carry the active adapter, by name (the base model's path, without peft's prefixes)."""
    adapter = active_adapter(model)
    return {
        name.removeprefix("base_model.model."): module
        for name, module in model.named_modules()
        if isinstance(module, LoraLayer) and adapter in module.lora_A
    }


def factor_weights(module: LoraLayer, adapter: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The weights of `adapter`'s A (r, in) and B (out, r) in `module`."""
    lora_a = cast(torch.nn.Linear, module.lora_A[adapter])
    lora_b = cast(torch.nn.Linear, module.lora_B[adapter])
    return lora_a.weight, lora_b.weight


def rank_of(module: LoraLayer, adapter: str) -> int:
    return int(module.r[adapter])


@torch.no_grad()
def delta_weight(module: LoraLayer, adapter: str) -> torch.Tensor:
    """dW of `adapter`, as (out_features, in_features), in float32.

    peft stores a GPT-2 Conv1D weight as (in, out) (`fan_in_fan_out`) and returns
    dW in the weight's layout; it is turned back so that dW = scaling * B @ A.
    """
    # every LoRA layer peft puts on Linear or Conv1D has these two; LoraLayer's own type does not say so
    dw = cast(torch.Tensor, module.get_delta_weight(adapter)).float()  # type: ignore[attr-defined]
    return dw.T if module.fan_in_fan_out else dw  # type: ignore[attr-defined]


def effective_rank(singular_values: torch.Tensor) -> float:
    total = singular_values.sum()
    if total <= 0:
        return 0.0
    p = singular_values / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def spectrum(model: PeftModel) -> list[ModuleSpectrum]:
    """Singular values, effective rank and relative size of each module's edit."""
    adapter = active_adapter(model)
    out = []
    for name, module in lora_modules(model).items():
        dw = delta_weight(module, adapter)
        s = torch.linalg.svdvals(dw)[: rank_of(module, adapter)]
        base = cast(torch.Tensor, module.get_base_layer().weight).detach().float()
        out.append(
            ModuleSpectrum(
                name,
                layer_index(name),
                [round(float(v), 6) for v in s],
                round(effective_rank(s), 4),
                float(dw.norm() / base.norm()),
            )
        )
    return out


@contextmanager
def _patched(model: PeftModel, new_weights: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> Iterator[None]:
    """Temporarily replace the active adapter's (A, B) in some modules; restored whatever happens."""
    adapter = active_adapter(model)
    modules = lora_modules(model)
    saved = {}
    try:
        with torch.no_grad():
            for name, (a, b) in new_weights.items():
                a_param, b_param = factor_weights(modules[name], adapter)
                saved[name] = (a_param.clone(), b_param.clone())
                a_param.copy_(a.to(a_param.dtype))
                b_param.copy_(b.to(b_param.dtype))
        yield
    finally:
        with torch.no_grad():
            for name, (a, b) in saved.items():
                a_param, b_param = factor_weights(modules[name], adapter)
                a_param.copy_(a)
                b_param.copy_(b)


def truncated_factors(module: LoraLayer, adapter: str, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B) of `adapter` whose product, scaled, is dW cut to its top-k singular directions."""
    dw = delta_weight(module, adapter)
    u, s, vh = torch.linalg.svd(dw, full_matrices=False)
    r = rank_of(module, adapter)
    a_weight, b_weight = factor_weights(module, adapter)
    a = torch.zeros_like(a_weight, dtype=torch.float32)  # (r, in)
    b = torch.zeros_like(b_weight, dtype=torch.float32)  # (out, r)
    k = min(k, r)
    a[:k] = vh[:k]
    b[:, :k] = u[:, :k] * s[:k] / module.scaling[adapter]
    return a, b


def truncation_sweep(model: PeftModel, measure: Callable[[PeftModel], dict[str, float]]) -> list[dict]:
    """Re-measure with every module's dW cut to rank k, for k = 1..r."""
    adapter = active_adapter(model)
    modules = lora_modules(model)
    max_rank = max(rank_of(m, adapter) for m in modules.values())
    rows = []
    for k in range(1, max_rank + 1):
        with _patched(model, {name: truncated_factors(m, adapter, k) for name, m in modules.items()}):
            rows.append({"k": k, "metrics": measure(model)})
    return rows


def layer_sweep(model: PeftModel, measure: Callable[[PeftModel], dict[str, float]]) -> list[dict]:
    """Re-measure with one layer's adapters switched off (B set to zero) at a time."""
    adapter = active_adapter(model)
    modules = lora_modules(model)
    layers = sorted({i for n in modules if (i := layer_index(n)) is not None})
    rows = []
    for layer in layers:
        off = {}
        for name, module in modules.items():
            if layer_index(name) == layer:
                a_weight, b_weight = factor_weights(module, adapter)
                off[name] = (a_weight.detach(), torch.zeros_like(b_weight))
        with _patched(model, off):
            rows.append({"layer": layer, "metrics": measure(model)})
    return rows
