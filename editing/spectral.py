"""The edit's multi-scale view: its spectrum, a rank-truncation sweep and a layer sweep.

For each adapted module the edit is dW = (alpha / r) * B @ A. We report its
singular values, its effective rank and its size relative to W, then re-measure
the probes with every dW cut to its top-k directions (k = 1..r) and with each
layer's adapter switched off. This is evidence about where the effect lives,
not an explanation of how it works.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from peft import PeftModel

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


def lora_modules(model: PeftModel) -> dict[str, torch.nn.Module]:
    """Adapted modules by name (the base model's path, without peft's prefixes)."""
    out = {}
    for name, module in model.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            out[name.removeprefix("base_model.model.")] = module
    return out


def layer_of(name: str) -> int | None:
    match = re.search(r"\.(\d+)\.", f".{name}.")
    return int(match.group(1)) if match else None


def delta_weight(module: torch.nn.Module) -> torch.Tensor:
    """dW = scaling * B @ A, as (out_features, in_features), in float32."""
    a = module.lora_A["default"].weight.detach().float()  # (r, in)
    b = module.lora_B["default"].weight.detach().float()  # (out, r)
    return module.scaling["default"] * (b @ a)


def effective_rank(singular_values: torch.Tensor) -> float:
    total = singular_values.sum()
    if total <= 0:
        return 0.0
    p = singular_values / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def spectrum(model: PeftModel) -> list[ModuleSpectrum]:
    """Singular values, effective rank and relative size of each module's edit."""
    out = []
    for name, module in lora_modules(model).items():
        dw = delta_weight(module)
        s = torch.linalg.svdvals(dw)[: module.r["default"]]
        base = module.get_base_layer().weight.detach().float()
        out.append(
            ModuleSpectrum(
                name,
                layer_of(name),
                [round(float(v), 6) for v in s],
                round(effective_rank(s), 4),
                float(dw.norm() / base.norm()),
            )
        )
    return out


@contextmanager
def _patched(model: PeftModel, new_weights: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> Iterator[None]:
    """Temporarily replace (A, B) of some modules; restored whatever happens."""
    modules = lora_modules(model)
    saved = {}
    try:
        with torch.no_grad():
            for name, (a, b) in new_weights.items():
                module = modules[name]
                a_param, b_param = module.lora_A["default"].weight, module.lora_B["default"].weight
                saved[name] = (a_param.clone(), b_param.clone())
                a_param.copy_(a.to(a_param.dtype))
                b_param.copy_(b.to(b_param.dtype))
        yield
    finally:
        with torch.no_grad():
            for name, (a, b) in saved.items():
                modules[name].lora_A["default"].weight.copy_(a)
                modules[name].lora_B["default"].weight.copy_(b)


def truncated_factors(module: torch.nn.Module, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B) whose product, scaled, is dW cut to its top-k singular directions."""
    dw = delta_weight(module)
    u, s, vh = torch.linalg.svd(dw, full_matrices=False)
    r = module.r["default"]
    a = torch.zeros_like(module.lora_A["default"].weight, dtype=torch.float32)  # (r, in)
    b = torch.zeros_like(module.lora_B["default"].weight, dtype=torch.float32)  # (out, r)
    k = min(k, r)
    a[:k] = vh[:k]
    b[:, :k] = u[:, :k] * s[:k] / module.scaling["default"]
    return a, b


def truncation_sweep(model: PeftModel, measure: Callable[[PeftModel], dict[str, float]]) -> list[dict]:
    """Re-measure with every module's dW cut to rank k, for k = 1..r."""
    modules = lora_modules(model)
    max_rank = max(m.r["default"] for m in modules.values())
    rows = []
    for k in range(1, max_rank + 1):
        with _patched(model, {name: truncated_factors(m, k) for name, m in modules.items()}):
            rows.append({"k": k, "metrics": measure(model)})
    return rows


def layer_sweep(model: PeftModel, measure: Callable[[PeftModel], dict[str, float]]) -> list[dict]:
    """Re-measure with one layer's adapters switched off (B set to zero) at a time."""
    modules = lora_modules(model)
    layers = sorted({layer_of(n) for n in modules if layer_of(n) is not None})
    rows = []
    for layer in layers:
        off = {
            n: (m.lora_A["default"].weight.detach(), torch.zeros_like(m.lora_B["default"].weight))
            for n, m in modules.items()
            if layer_of(n) == layer
        }
        with _patched(model, off):
            rows.append({"layer": layer, "metrics": measure(model)})
    return rows
