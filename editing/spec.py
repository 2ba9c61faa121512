"""The edit spec: a validated dataclass tree, with help on every field.

Each section checks its own values and names the field and what is allowed
(`lora.rank must be an integer >= 1, got 0`). Reading a spec from YAML (types,
unknown keys, file paths, the model's shipped texts) is editing.spec_reader's job;
resolving its `auto` values for a run is editing.training's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from editing.errors import BadInput
from editing.impact import parse_gate


class SpecError(BadInput):
    """A spec that cannot be used; the message names the field."""


# Upper bounds that no sensible edit comes near; beyond them a value is a typo, not a choice.
MAX_STEPS = 100_000
MAX_LR = 1e6
MAX_RANK = 4096

# The words train.prefixes takes besides a text reference (editing/prefixes.py says what each puts first).
AUTO_PREFIXES = "auto"  # the texts the model ships (the toy world's filler), else the model's samples
MODEL_PREFIXES = "model"  # samples the model writes when the run starts
RETAIN_PREFIXES = "retain"  # the retain texts

# On by default: a run on a stored version fails when an earlier edit's regression probes, judged per edit,
# say its answer less than half the time (the whole interval below). Set `gates.regressions` to change it.
DEFAULT_REGRESSIONS_GATE = ">= 0.5"


@dataclass
class FeedbackSpec:
    """Which judgments to train on: from the store (by tags and status) or from a JSONL file."""

    tags: list[str] = field(
        default_factory=list, metadata={"help": "Judgments carrying any of these tags (empty: all)."}
    )
    status: Literal["submitted", "draft", "any"] = field(
        default="submitted", metadata={"help": "Judgment status to use."}
    )
    min_agreement: float = field(
        default=0.5,
        metadata={"help": "Drop an item when fewer than this share of its annotators agree with the majority."},
    )
    annotators: list[str] = field(default_factory=list, metadata={"help": "Only these annotators (empty: everyone)."})
    positive_sft: bool = field(
        default=False, metadata={"help": "Also train on outputs rated thumbs-up (plain SFT on them)."}
    )
    file: str | None = field(default=None, metadata={"help": "A JSONL file of judgments to use instead of the store."})
    replay: bool = field(
        default=True,
        metadata={
            "help": "When `model` is a version made by nudge edits, also train on the examples those edits "
            "trained on (a later edit's answer wins on a shared prompt), so this edit keeps them."
        },
    )
    include_disabled: bool = field(
        default=False,
        metadata={
            "help": "Also train on judgments by disabled annotator accounts (left out by default: "
            "disabling an account withdraws its judgments)."
        },
    )

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_agreement <= 1.0:
            raise SpecError(f"feedback.min_agreement must be between 0 and 1, got {self.min_agreement}")


@dataclass
class LoraSpec:
    """The shape of the low-rank edit (peft LoRA)."""

    rank: int = field(default=4, metadata={"help": "LoRA rank r: the edit has at most r directions per module."})
    alpha: float = field(default=8.0, metadata={"help": "LoRA alpha; the update is scaled by alpha / rank."})
    dropout: float = field(default=0.0, metadata={"help": "Dropout on the LoRA input during training."})
    targets: str | list[str] = field(
        default="mlp", metadata={"help": "`mlp`, `attention`, or a list of module names (suffixes) to adapt."}
    )
    layers: str | list[int] = field(default="all", metadata={"help": "`all`, or a list of layer indices to adapt."})

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise SpecError(f"lora.rank must be an integer >= 1, got {self.rank}")
        if self.rank > MAX_RANK:
            raise SpecError(f"lora.rank must be at most {MAX_RANK} (and below the model's width), got {self.rank}")
        if self.alpha <= 0:
            raise SpecError(f"lora.alpha must be > 0, got {self.alpha}")
        if not 0.0 <= self.dropout < 1.0:
            raise SpecError(f"lora.dropout must be in [0, 1), got {self.dropout}")
        if isinstance(self.targets, str) and self.targets not in ("mlp", "attention"):
            raise SpecError(f"lora.targets must be mlp, attention or a list of module names, got {self.targets!r}")
        if isinstance(self.targets, list) and not self.targets:
            raise SpecError("lora.targets is an empty list; name at least one module, or use mlp")
        if isinstance(self.layers, str) and self.layers != "all":
            raise SpecError(f"lora.layers must be `all` or a list of layer indices, got {self.layers!r}")
        if isinstance(self.layers, list):
            if not self.layers:
                raise SpecError("lora.layers is an empty list; name at least one layer index, or use all")
            if min(self.layers) < 0:
                raise SpecError(f"lora.layers are counted from 0, got {min(self.layers)}")


@dataclass
class TrainSpec:
    """The training loop."""

    steps: int = field(default=200, metadata={"help": "Optimiser steps at most (early stopping may end sooner)."})
    lr: float = field(default=5e-3, metadata={"help": "AdamW learning rate for the LoRA weights."})
    batch_size: int = field(default=16, metadata={"help": "Training examples per step."})
    seed: int = field(
        default=0,
        metadata={"help": "Seed for LoRA init and example order; same seed, same data -> same adapter on CPU."},
    )
    kl_weight: float = field(
        default=1.0, metadata={"help": "Weight of the KL(base || edited) term on the retain texts; 0 turns it off."}
    )
    retain: str | None = field(
        default=None, metadata={"help": "Retain texts for the KL term: `toyworld:retain`, a .jsonl or a .txt."}
    )
    retain_batch_size: int = field(
        default=8,
        metadata={
            "help": "Retain texts per step for the KL term (a sample of them each step; the term is their mean KL)."
        },
    )
    early_stop: Literal["val", "none", "auto"] = field(
        default="auto",
        metadata={
            "help": "`val`: stop once the val probes meet the gates; `none`: train every step; `auto`: `val` for "
            "an edit of a base model, `none` for an edit of a stored version (`version:N`), whose replayed "
            "earlier edits the val probes do not check (bench/sequential-methods.md)."
        },
    )
    eval_every: int = field(default=20, metadata={"help": "Steps between validation checks for early stopping."})
    dpo_beta: float = field(default=0.1, metadata={"help": "DPO temperature beta."})
    terminate: Literal["model", "eos", "none", "auto"] = field(
        default="model",
        metadata={
            "help": "How a corrected or preferred answer ends in training. `model`: the ending the model writes "
            "after its own answer to the prompt (a full stop), then the end-of-text token; `eos`: the end-of-text "
            "token alone; `none`: nothing (generation may run on); `auto`: the same as `model`."
        },
    )
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    context_prefixes: int | Literal["auto"] = field(
        default="auto",
        metadata={
            "help": "Each step also trains every example of its batch behind this many other contexts: a text "
            "put before the prompt (as ROME's random prefixes), so the answer is tied to the prompt's subject "
            "and not to the prompt being the text's start. 0: off. `auto`: 1 for an edit of a stored version "
            "(`version:N`), where a chain's held-out phrasings need it (bench/sequential-methods.md), and for "
            "an edit that names its train.prefixes; 0 otherwise."
        },
    )
    prefixes: str = field(
        default="auto",
        metadata={
            "help": "Texts to put before the prompts for train.context_prefixes: `model` (short samples the "
            "model writes from neutral openings, as ROME's, drawn under train.seed when the run starts), "
            "`retain` (the train.retain texts), `toyworld:filler` (sentences that state no fact of the toy "
            "world), a .jsonl or a .txt; `auto`: `toyworld:filler` for the toy-world model and the versions "
            "built on it, `model` for any other. Text that states no fact of the kind being edited keeps the "
            "edit off other subjects (a fact before the prompt lets the answer attach to it)."
        },
    )

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "retain_batch_size"):
            if getattr(self, name) < 1:
                raise SpecError(f"train.{name} must be an integer >= 1, got {getattr(self, name)}")
        if self.steps > MAX_STEPS:
            raise SpecError(f"train.steps must be at most {MAX_STEPS}, got {self.steps}")
        if not 0 < self.lr <= MAX_LR:
            raise SpecError(f"train.lr must be > 0 and at most {MAX_LR:g}, got {self.lr:g}")
        if self.kl_weight < 0:
            raise SpecError(f"train.kl_weight must be >= 0, got {self.kl_weight}")
        if self.context_prefixes != "auto" and self.context_prefixes < 0:
            raise SpecError(f"train.context_prefixes must be an integer >= 0 or auto, got {self.context_prefixes}")
        if not self.prefixes.strip():
            raise SpecError("train.prefixes is empty; give auto, model, retain, toyworld:filler, a .jsonl or a .txt")
        if self.prefixes == RETAIN_PREFIXES and not self.retain:
            raise SpecError(
                "train.prefixes: retain puts the retain texts before the prompts, but train.retain is not set; "
                "set train.retain or train.prefixes: model"
            )
        if self.prefixes != AUTO_PREFIXES and self.context_prefixes == 0:
            raise SpecError(
                f"train.prefixes is {self.prefixes} but train.context_prefixes is 0, so no text would be put "
                "before a prompt; set train.context_prefixes: 1 (or auto) or remove train.prefixes"
            )
        for name in ("dpo_beta", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise SpecError(f"train.{name} must be > 0, got {getattr(self, name)}")


@dataclass
class EditSpec:
    """Everything `nudge apply` needs: which model, which judgments, how to edit, how to judge the edit."""

    name: str = field(metadata={"help": "A short name for the edit, used in run listings and reports."})
    model: str = field(
        default="toyworld",
        metadata={"help": "`toyworld`, a local HF folder, a hub id, or a model version id in the store."},
    )
    feedback: FeedbackSpec = field(default_factory=FeedbackSpec, metadata={"help": "Which judgments to train on."})
    objective: Literal["auto", "sft", "unlikelihood", "dpo"] = field(
        default="auto",
        metadata={"help": "auto: by judgment kind; or force one objective for every judgment that allows it."},
    )
    chat: bool = field(default=False, metadata={"help": "Wrap prompts in the tokenizer's chat template."})
    lora: LoraSpec = field(default_factory=LoraSpec, metadata={"help": "The shape of the edit."})
    train: TrainSpec = field(default_factory=TrainSpec, metadata={"help": "The training loop."})
    probes: list[str] = field(
        default_factory=list, metadata={"help": "Probe suites: `toyworld:NAME`, `store:NAME` or JSONL files."}
    )
    gates: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "help": 'Thresholds judged on the test split, e.g. {paraphrase: ">= 0.8"}. '
            f'`regressions` (every earlier edit of a stored version still said) is on at "{DEFAULT_REGRESSIONS_GATE}" '
            'unless set here; ">= 0" turns it off.'
        },
    )
    fluency: str | None = field(
        default=None, metadata={"help": "Text for the perplexity ratio: `toyworld:fluency`, a .txt or a .jsonl."}
    )
    device_map: str | None = field(
        default=None,
        metadata={"help": "Spread a model too large for one device over several (accelerate), e.g. `auto`."},
    )
    accept_failed: bool = field(
        default=False,
        metadata={
            "help": "Accept the edit even if its verdict fails (recorded, shown in the report), and allow "
            "`model: version:N` on a rejected version. Off: a failed verdict makes a rejected version."
        },
    )

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", self.name):
            raise SpecError(f"name must be 1-64 letters, digits, '.', '_' or '-', got {self.name!r}")
        if not self.probes:
            raise SpecError("probes is empty; name at least one probe suite, e.g. [toyworld:dog-cat-swap]")
        for gate, threshold in self.gates.items():
            try:
                parse_gate(gate, threshold)
            except ValueError as exc:
                raise SpecError(f"gates.{gate}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def judged_gates(self) -> dict[str, str]:
        """The gates a run judges: the spec's, plus `regressions` at its default when the spec does not set it."""
        if any(parse_gate(name, threshold).name == "regression_says" for name, threshold in self.gates.items()):
            return dict(self.gates)
        return {"regressions": DEFAULT_REGRESSIONS_GATE, **self.gates}

    @property
    def spec_hash(self) -> str:
        """sha256 of the normalised spec (defaults filled in, keys sorted)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()
