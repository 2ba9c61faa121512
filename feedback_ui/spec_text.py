"""An edit spec from the text in the Edit tab's code box, validated as `nudge apply` would."""

from __future__ import annotations

from pathlib import Path

import yaml

from editing.spec import EditSpec, SpecError, spec_from_dict

FIXED_REFS = ("toyworld:", "store:")  # probe references that are not file paths


def spec_from_text(text: str, base: Path) -> EditSpec:
    """Parse and validate YAML spec text; relative file paths in it are taken from `base`.

    `base` is the folder of the spec file the text came from (as `load_spec` does for a
    file), or the workspace for a spec written from scratch. Raises SpecError.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SpecError(f"the spec is not valid YAML: {error}") from error
    spec = spec_from_dict(data)
    if spec.feedback.file and not Path(spec.feedback.file).is_absolute():
        spec.feedback.file = str(base / spec.feedback.file)
    spec.probes = [p if p.startswith(FIXED_REFS) or Path(p).is_absolute() else str(base / p) for p in spec.probes]
    return spec
