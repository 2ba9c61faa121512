"""Read an edit spec: YAML -> a checked `EditSpec`, its model looked up, its file paths taken from its folder.

Types and unknown keys are checked as the dataclasses declare them (editing.dataclass_from_dict),
each section checks its own values (editing.spec), and the spec meets the workspace's reference
table (editing.loading): a model known by name fills in the texts it ships (the toy world's retain
and fluency texts), and a model folder that is not there is named before anything it implies.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from editing.dataclass_from_dict import dataclass_from_dict
from editing.loading import workspace_references
from editing.references import ModelLoadError, split_reference, stored_version_id
from editing.spec import AUTO_PREFIXES, MODEL_PREFIXES, RETAIN_PREFIXES, EditSpec, SpecError


def spec_from_dict(data: object) -> EditSpec:
    """Validate a decoded spec; raises SpecError naming the first bad field."""
    spec = dataclass_from_dict(EditSpec, data, SpecError, "the spec")
    references = workspace_references()
    named = references.named_model(spec.model)
    try:
        if named is None and stored_version_id(spec.model) is None:
            references.model_source(spec.model)  # a missing folder is the first thing to fix, before what it implies
    except ModelLoadError as exc:
        raise SpecError(f"model: {exc}") from exc
    if named is not None:
        if spec.train.retain is None and spec.train.kl_weight > 0:
            spec.train.retain = named.retain
        if spec.fluency is None:
            spec.fluency = named.fluency
    if spec.train.kl_weight > 0 and spec.train.retain is None:
        raise SpecError("train.kl_weight > 0 needs train.retain (texts to keep in place); or set kl_weight: 0")
    return spec


def _in_folder(ref: str, base: Path) -> str:
    """A file named in a spec, a relative one taken from `base`; a `scheme:NAME` reference as it is."""
    if split_reference(ref)[0]:
        return ref
    path = Path(ref).expanduser()
    return str(path if path.is_absolute() else base / path)


def spec_from_yaml(text: str, base: Path, source: str = "the spec") -> EditSpec:
    """Parse and validate YAML spec text; the relative file paths in it (feedback.file, probes,
    train.retain, train.prefixes, fluency) are taken from `base`, the folder the spec file lives in."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{source} is not valid YAML: {exc}") from exc
    spec = spec_from_dict(data)
    spec.probes = [_in_folder(p, base) for p in spec.probes]
    if spec.feedback.file:
        spec.feedback.file = _in_folder(spec.feedback.file, base)
    if spec.train.retain:
        spec.train.retain = _in_folder(spec.train.retain, base)
    if spec.train.prefixes not in (AUTO_PREFIXES, MODEL_PREFIXES, RETAIN_PREFIXES):
        spec.train.prefixes = _in_folder(spec.train.prefixes, base)
    if spec.fluency:
        spec.fluency = _in_folder(spec.fluency, base)
    return spec


def load_spec(path: str | Path) -> EditSpec:
    """Read and validate a YAML spec. Relative file paths in it are taken from the spec's folder."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"no spec file at {path}")
    return spec_from_yaml(path.read_text(), path.parent, str(path))
