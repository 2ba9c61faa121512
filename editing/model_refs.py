"""What a model reference in a spec names: the toy world, a local folder, or a hub id.

Kept free of the model libraries, so a spec can name its bad model before torch is imported.
"""

from __future__ import annotations

from pathlib import Path

from editing.errors import BadInput
from editing.workspace import toyworld_model_dir

TOYWORLD = "toyworld"


class ModelLoadError(BadInput):
    """A model reference that cannot be loaded; the message says why and what to do."""


def resolve_ref(ref: str) -> tuple[Path | None, str]:
    """Turn a reference into (local folder, hub id); exactly one of them is set."""
    if ref == TOYWORLD:
        folder = toyworld_model_dir()
        if not (folder / "config.json").exists():
            raise ModelLoadError(
                f"the toy-world model is not built yet (looked in {folder}); run `nudge toyworld build` first"
            )
        return folder, ""
    path = Path(ref).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{ref} is a file; give the folder that holds config.json")
        if not (path / "config.json").exists():
            raise ModelLoadError(
                f"{ref} is not a Hugging Face model folder (no config.json in it); "
                "give a folder written by save_pretrained, a hub id, or `toyworld`"
            )
        return path, ""
    looks_like_path = ref.startswith((".", "/", "~")) or ref.count("/") > 1
    if looks_like_path or not ref.strip():
        raise ModelLoadError(f"no such model folder: {ref}; check the path, or name a hub id")
    return None, ref
