"""The training settings of one edit: the spec's `train` section with every `auto` resolved once, as plain values.

The plan resolves them (editing.runs.plan) and the loop (editing.lora.apply_edit) reads them;
neither the loop nor anything after the plan sees an `auto`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from editing.prefixes import ContextPrefixes, resolve_prefixes
from editing.spec import TrainSpec


@dataclass(frozen=True)
class Training:
    """How one edit trains (each field as in the spec's `train` section, docs/spec.md), `auto` resolved."""

    steps: int
    lr: float
    batch_size: int
    seed: int
    kl_weight: float
    retain_batch_size: int
    eval_every: int
    dpo_beta: float
    max_grad_norm: float
    early_stop: Literal["val", "none"]  # `val`: stop once the val probes meet the gates
    terminate: Literal["model", "eos", "none"]  # how a trained answer ends (editing/endings.py)
    prefixes: ContextPrefixes  # the texts put before prompts, and how many per example


_RESOLVED = ("early_stop", "terminate", "prefixes")  # the fields that may say `auto`; the rest is copied


def resolve_training(train: TrainSpec, *, on_version: bool = False, shipped_prefixes: str | None = None) -> Training:
    """`train` for an edit of a stored version (`on_version`) or of a base model that ships the prefix texts
    `shipped_prefixes` (the toy world's filler; None for a model that ships none).

    `early_stop: auto` stops on the val probes for an edit of a base model and trains every step on a
    version, whose replayed earlier edits its val probes do not check (bench/sequential-methods.md).
    `terminate: auto` ends answers as the model ends its own.
    """
    if train.early_stop == "auto":
        early_stop: Literal["val", "none"] = "none" if on_version else "val"
    else:
        early_stop = train.early_stop
    plain = {f.name: getattr(train, f.name) for f in fields(Training) if f.name not in _RESOLVED}
    return Training(
        **plain,
        early_stop=early_stop,
        terminate="model" if train.terminate == "auto" else train.terminate,
        prefixes=resolve_prefixes(train, on_version, shipped_prefixes),
    )
