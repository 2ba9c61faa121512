"""Outputs for annotators to judge: a model version's continuations of stored prompts, batched.

A version is its base model plus the adapters of its ancestors, merged in order. `ModelCache`
loads each version once per process and shares it read-only; generation on one model is
serialised by a lock, since sampling seeds torch's global generator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from transformers import GenerationMixin

from editing.loading import ModelLoadError, load_model
from editing.models import LoadedModel
from editing.quiet import quiet_dependencies
from store import Generation, ModelVersion, Store

ProgressCallback = Callable[[int, int], None]  # (prompts done, prompts in all)
VersionKey = tuple[int, str | None, str | None, str | None]
EMPTY_OUTPUT = "<|endoftext|>"  # stored for an empty continuation: an output must be non-blank text


class GenerationError(RuntimeError):
    """A model version could not produce outputs; the message names the version and the cause."""


@dataclass(frozen=True)
class Decoding:
    """How outputs are decoded; stored with every generation so a judgment names what it judged."""

    max_new_tokens: int = 24  # a sentence or two of the toy world; long enough to judge
    do_sample: bool = False  # greedy by default: the output annotators see is the model's answer
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0  # used only when sampling

    def __post_init__(self) -> None:
        if not 1 <= self.max_new_tokens <= 1024:
            raise ValueError(f"max_new_tokens={self.max_new_tokens} must be between 1 and 1024")
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise ValueError(
                f"temperature={self.temperature} must be > 0 and top_p={self.top_p} in (0, 1]; "
                "use do_sample=False for greedy decoding"
            )

    def as_dict(self) -> dict[str, Any]:
        settings = asdict(self)
        if not self.do_sample:
            for key in ("temperature", "top_p", "seed"):
                settings.pop(key)
        return settings


GREEDY = Decoding()


def load_merged_version(store: Store, version: ModelVersion, device: str | None = None) -> LoadedModel:
    """The base model with every adapter on the way to `version` merged in; GenerationError if any is missing."""
    base, *edits = store.version_chain(version.id)
    assert base.ref is not None  # a version without a parent is a base version, which has a ref
    try:
        loaded = load_model(base.ref, device=device)
    except ModelLoadError as error:
        raise GenerationError(f"model version {version.id}: {error}") from error
    model = loaded.model
    for edit in edits:
        assert edit.adapter_path is not None
        if not (Path(edit.adapter_path) / "adapter_config.json").exists():
            raise GenerationError(
                f"model version {edit.id} needs the adapter at {edit.adapter_path}, which is missing; "
                "restore the workspace's adapters/ folder or promote another version"
            )
        with quiet_dependencies():
            model = PeftModel.from_pretrained(model, edit.adapter_path).merge_and_unload()
    model.eval()
    loaded.model = model
    return loaded


class ModelCache:
    """Each version's model, loaded on first use and kept for the life of the process."""

    def __init__(self, device: str | None = None) -> None:
        self.device = device
        self._models: dict[VersionKey, LoadedModel] = {}
        self._locks: dict[VersionKey, threading.Lock] = {}
        self._guard = threading.Lock()

    @staticmethod
    def key(version: ModelVersion) -> VersionKey:
        """A version's identity beyond its id, so one cache can serve several databases (tests, benchmarks)."""
        return (version.id, version.ref, version.fingerprint, version.adapter_sha256)

    def lock_for(self, version: ModelVersion) -> threading.Lock:
        """The lock that serialises loading and generating with one version."""
        with self._guard:
            return self._locks.setdefault(self.key(version), threading.Lock())

    def get(self, store: Store, version: ModelVersion) -> LoadedModel:
        """The loaded model of `version` (hold `lock_for(version)` while generating with it)."""
        key = self.key(version)
        if key not in self._models:
            self._models[key] = load_merged_version(store, version, self.device)
        return self._models[key]


@torch.inference_mode()
def continuations(loaded: LoadedModel, prompts: Sequence[str], decoding: Decoding = GREEDY) -> list[str]:
    """One continuation per prompt, in one left-padded batch."""
    tokenizer = loaded.tokenizer
    encoded = [tokenizer(p)["input_ids"] for p in prompts]
    width = max(len(ids) for ids in encoded)
    pad_id = tokenizer.pad_token_id
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, ids in enumerate(encoded):
        input_ids[row, width - len(ids) :] = torch.tensor(ids)
        attention_mask[row, width - len(ids) :] = 1
    if decoding.do_sample:
        torch.manual_seed(decoding.seed)
    sampling = {"temperature": decoding.temperature, "top_p": decoding.top_p} if decoding.do_sample else {}
    model = loaded.model
    assert isinstance(model, GenerationMixin)  # load_model loads causal LMs, which all generate
    with quiet_dependencies():
        generated = model.generate(
            input_ids=input_ids.to(loaded.device),
            attention_mask=attention_mask.to(loaded.device),
            max_new_tokens=decoding.max_new_tokens,
            do_sample=decoding.do_sample,
            pad_token_id=pad_id,
            eos_token_id=tokenizer.eos_token_id,
            **sampling,
        )
    return tokenizer.batch_decode(generated[:, width:].cpu(), skip_special_tokens=True)


def generate_outputs(
    store: Store,
    version_id: int,
    *,
    prompt_ids: Sequence[int] | None = None,
    tags: Sequence[str] | None = None,
    decoding: Decoding = GREEDY,
    batch_size: int = 16,
    on_progress: ProgressCallback | None = None,
    models: ModelCache | None = None,
    only_missing: bool = True,
) -> list[Generation]:
    """Generate and store version `version_id`'s outputs for the chosen prompts, in batches.

    Prompts are chosen by id, or by tags, or all. With `only_missing`, prompts that already have
    an output of this version are skipped, so running it again only fills gaps. Outputs are
    deduplicated by text: a sample equal to an existing output returns that output.
    """
    version = store.model_version(version_id)
    candidates = store.prompts_without_output(version_id, tags) if only_missing else store.prompts(tags)
    if prompt_ids is not None:
        known = {p.id for p in store.prompts(tags)}
        missing = set(prompt_ids) - known
        if missing:
            raise ValueError(f"no prompts with ids {sorted(missing)} (with tags {list(tags or [])}); add them first")
        wanted = set(prompt_ids)
        candidates = [p for p in candidates if p.id in wanted]
    todo = candidates
    settings = decoding.as_dict()
    models = models or ModelCache()
    made: list[Generation] = []
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        with models.lock_for(version):
            loaded = models.get(store, version)
            try:
                texts = continuations(loaded, [p.text for p in batch], decoding)
            except (RuntimeError, ValueError) as error:
                raise GenerationError(f"model version {version_id} failed to generate: {error}") from error
        outputs = [(p.id, text if text.strip() else EMPTY_OUTPUT) for p, text in zip(batch, texts, strict=True)]
        made.extend(store.add_generations(version_id, outputs, decoding=settings))
        if on_progress is not None:
            on_progress(start + len(batch), len(todo))
    return made
