"""Load any Hugging Face causal LM and its tokenizer from where a reference resolved to: a folder or a hub id.

Which folder `toyworld` or another reference names is the reference table's business
(editing.references, editing.loading); this module takes the resolved `ModelSource`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PretrainedConfig, PreTrainedModel
from transformers import PreTrainedTokenizerBase as Tokenizer

from editing.quiet import quiet_dependencies
from editing.references import ModelLoadError, ModelSource

if TYPE_CHECKING:
    from peft import PeftModel

_FINGERPRINT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
_FINGERPRINT_CHUNK = 8 * 1024 * 1024  # bytes read from each end of a weights file

# What scoring and training run: a loaded model as it is, or with peft adapters on
# (a string, so that importing this module does not import peft).
ScorableModel: TypeAlias = "PreTrainedModel | PeftModel"


@dataclass
class LoadedModel:
    """A causal LM ready to score and edit, with what nudge needs to know about it."""

    ref: str  # what the user named: a folder, a hub id, or "toyworld"
    model: PreTrainedModel
    tokenizer: Tokenizer
    device: torch.device
    path: Path | None  # the local folder, when there is one
    fingerprint: str  # identifies the weights and tokenizer without hashing gigabytes

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def architecture(self) -> str:
        return type(self.model).__name__


def pick_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def fingerprint(folder: Path) -> str:
    """sha256 over the config, the tokenizer files and each weights file's size and two ends."""
    digest = hashlib.sha256()
    for name in _FINGERPRINT_FILES:
        if (folder / name).exists():
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        size = weights.stat().st_size
        digest.update(f"{weights.name}\0{size}\0".encode())
        with weights.open("rb") as f:
            digest.update(f.read(_FINGERPRINT_CHUNK))
            if size > 2 * _FINGERPRINT_CHUNK:
                f.seek(-_FINGERPRINT_CHUNK, os.SEEK_END)
                digest.update(f.read())
    return digest.hexdigest()


def _default_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _read_config(source: str, folder: Path | None) -> PretrainedConfig:
    try:
        with quiet_dependencies():
            return AutoConfig.from_pretrained(source)
    except OSError as exc:
        if folder is not None:
            raise ModelLoadError(f"cannot read the model config in {folder}: {exc}") from exc
        raise ModelLoadError(
            f"could not fetch {source!r} from the Hugging Face Hub (no network, no such repo, "
            "or it needs a login); download it where there is network and pass its folder"
        ) from exc
    except ValueError as exc:
        raise ModelLoadError(f"{source} has a config transformers does not know: {exc}") from exc


def _read_tokenizer(source: str) -> Tokenizer:
    try:
        with quiet_dependencies():
            tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{source} has no usable tokenizer: {exc}") from exc
    if tokenizer.pad_token is None:
        # batches are right-padded and masked, so any known token works as padding
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def load_config_and_tokenizer(source: ModelSource) -> tuple[PretrainedConfig, Tokenizer]:
    """A model's config and tokenizer without its weights: enough to check a spec against the model."""
    return _read_config(source.location, source.folder), _read_tokenizer(source.location)


def load_pretrained(
    source: ModelSource, device: str | torch.device | None = None, device_map: str | None = None
) -> LoadedModel:
    """Load a causal LM and its tokenizer, in eval mode, with a pad token set.

    `device_map="auto"` spreads a model too large for one device over all of them
    (accelerate). Raises ModelLoadError with a one-line reason and fix for anything
    that cannot be loaded.
    """
    folder, location = source.folder, source.location
    config = _read_config(location, folder)
    target = torch.device(device) if device is not None else pick_device()
    try:
        with quiet_dependencies():
            model = AutoModelForCausalLM.from_pretrained(location, dtype=_default_dtype(target), device_map=device_map)
    except ValueError as exc:
        raise ModelLoadError(
            f"{location} is not a causal language model ({type(config).__name__}); "
            "nudge edits models that AutoModelForCausalLM can load"
        ) from exc
    except OSError as exc:
        raise ModelLoadError(f"cannot load the weights from {location}: {exc}") from exc
    if device_map is None:
        model.to(target)  # type: ignore[arg-type]  # transformers wraps `to` in functools.wraps, which mypy reads as unbound
    model.eval()
    tokenizer = _read_tokenizer(location)
    return LoadedModel(
        ref=source.ref,
        model=model,
        tokenizer=tokenizer,
        device=model.device,
        path=folder,
        fingerprint=fingerprint(folder) if folder is not None else f"hub:{source.hub_id}",
    )
